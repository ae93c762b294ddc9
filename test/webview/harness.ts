/*
 * A browser harness for the webview bundles: a tiny HTTP server on 127.0.0.1 that serves the panel page
 * (panelHtml with its real CSP) and the built bundle, and headless Chromium through playwright-core with
 * every CSP violation, page error and console error collected so a test can assert there were none.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { makeNonce, panelHtml } from '../../webview/html';

export const ROOT = resolve(__dirname, '..', '..');
export const BUNDLE = join(ROOT, 'dist', 'webview', 'slab.js');
export const STYLE = join(ROOT, 'dist', 'webview', 'slab.css');
export const CHROMIUM = process.env.KMEM_CHROMIUM ?? '/usr/bin/chromium';

/** VS Code's Dark Modern theme, as the --vscode-* variables a webview receives. */
export const DARK_MODERN: Readonly<Record<string, string>> = {
  'font-family': '-apple-system, BlinkMacSystemFont, "Segoe WPC", "Segoe UI", "Ubuntu", "Droid Sans", sans-serif',
  'font-size': '13px',
  'editor-font-family': '"Droid Sans Mono", "monospace", monospace',
  'editor-background': '#1f1f1f',
  foreground: '#cccccc',
  descriptionForeground: '#9d9d9d',
  errorForeground: '#f85149',
  focusBorder: '#0078d4',
  'editorWidget-background': '#202020',
  'editorWidget-border': '#454545',
  'list-hoverBackground': '#2a2d2e',
  'charts-blue': '#3794ff',
  'charts-green': '#89d185',
  'charts-red': '#f14c4c',
  'charts-yellow': '#cca700',
  'charts-orange': '#d18616',
  'textLink-foreground': '#4daafc',
  'input-background': '#313131',
  'input-foreground': '#cccccc',
  'input-border': '#3c3c3c',
  'input-placeholderForeground': '#989898',
  'inputValidation-errorBackground': '#5a1d1d',
  'inputValidation-errorBorder': '#be1100',
  'badge-background': '#616161',
  'badge-foreground': '#f8f8f8',
};

export interface Harness {
  readonly origin: string;
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Opens the server and the browser. The bundle must be built (`node scripts/build.mjs`). */
export async function openHarness(): Promise<Harness> {
  for (const file of [BUNDLE, STYLE]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`node scripts/build.mjs\` first`);
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const send = (type: string, body: string) => {
      res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === '/' || path === '/panel.html') {
      send('text/html', harnessPage(origin));
    } else if (path === '/slab.js') {
      send('text/javascript', readFileSync(BUNDLE, 'utf8'));
    } else if (path === '/slab.css') {
      send('text/css', readFileSync(STYLE, 'utf8'));
    } else if (path === '/theme.css') {
      send('text/css', themeCss(DARK_MODERN));
    } else {
      res.writeHead(path === '/favicon.ico' ? 204 : 404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    origin,
    browser,
    async close() {
      await browser.close();
      await new Promise<void>((ok) => closeServer(server, ok));
    },
  };
}

function closeServer(server: Server, done: () => void): void {
  server.closeAllConnections();
  server.close(() => done());
}

/**
 * The panel page as the extension serves it (panelHtml, real CSP, cspSource = this origin), plus the
 * theme: VS Code puts the --vscode-* variables on <html>; here a stylesheet from the same origin does.
 */
function harnessPage(origin: string): string {
  const html = panelHtml({
    cspSource: origin,
    nonce: makeNonce(),
    scriptUri: `${origin}/slab.js`,
    styleUri: `${origin}/slab.css`,
    title: 'Slab caches',
  });
  return html
    .replace('</head>', `<link rel="stylesheet" href="${origin}/theme.css">\n</head>`)
    .replace('<body>', '<body class="vscode-dark">');
}

function themeCss(vars: Readonly<Record<string, string>>): string {
  const lines = Object.entries(vars).map(([name, value]) => `  --vscode-${name}: ${value};`);
  return `html {\n${lines.join('\n')}\n}\n`;
}

/** What went wrong in a page: CSP violations, uncaught errors, console errors. All should stay empty. */
export interface Problems {
  readonly csp: string[];
  readonly errors: string[];
}

/**
 * A new page that records its problems. `fakeVsCode` installs an acquireVsCodeApi (as VS Code's webview
 * host does, before any page script) that records posted messages and setState, and hands `savedState`
 * to getState.
 */
export async function openPage(
  context: BrowserContext,
  opts: { fakeVsCode?: boolean; savedState?: unknown } = {},
): Promise<{ page: Page; problems: Problems }> {
  const page = await context.newPage();
  const problems: Problems = { csp: [], errors: [] };
  page.on('pageerror', (e) => problems.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.errors.push(`console: ${m.text()}`);
  });
  await page.exposeFunction('__kmemCspViolation', (text: string) => problems.csp.push(text));
  // Init scripts go in as source text: tsx's transform would add helpers to a serialised function.
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => {
      window.__kmemCspViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
    });`,
  });
  if (opts.fakeVsCode) {
    await page.addInitScript({
      content: `(() => {
        const posted = [];
        window.__posted = posted;
        window.__saved = ${JSON.stringify(opts.savedState ?? null)};
        let acquired = false;
        window.acquireVsCodeApi = () => {
          if (acquired) throw new Error('acquireVsCodeApi called twice');
          acquired = true;
          return {
            postMessage: (m) => { posted.push(m); },
            getState: () => window.__saved,
            setState: (s) => { window.__saved = s; },
          };
        };
      })();`,
    });
  }
  return { page, problems };
}

/** Posts a message to the page as the host does (a window 'message' event). */
export async function post(page: Page, message: unknown): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), message);
}
