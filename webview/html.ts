/*
 * The HTML around the slab panel's bundle, as plain strings (no DOM): panelHtml() for a VS Code webview
 * (the script and stylesheet come from the webview's resource URIs), reportHtml() for a standalone report
 * file with the bundle, the stylesheet and one machine state inlined. Both pages carry a strict CSP:
 * nothing loads but what is named, and scripts run only with a fresh nonce.
 */

import type { MachineState } from './protocol';

export interface PanelHtmlOptions {
  /** webview.cspSource: the origin the panel's stylesheet (and any image or font) comes from. */
  readonly cspSource: string;
  readonly nonce: string;
  readonly scriptUri: string;
  readonly styleUri: string;
  readonly title: string;
}

export interface ReportHtmlOptions {
  readonly title: string;
  readonly state: MachineState;
  /** The contents of dist/webview/slab.js. */
  readonly script: string;
  /** The contents of dist/webview/slab.css. */
  readonly style: string;
}

/** The id of the element the bundle renders into. */
export const ROOT_ID = 'kmem-root';
/** The id of the <script type="application/json"> that holds a report's state. */
export const STATE_ID = 'kmem-state';

/** The page a VS Code webview panel loads. */
export function panelHtml(opts: PanelHtmlOptions): string {
  const csp = [
    "default-src 'none'",
    `style-src ${opts.cspSource}`,
    `img-src ${opts.cspSource} data:`,
    `font-src ${opts.cspSource}`,
    `script-src 'nonce-${opts.nonce}'`,
  ].join('; ');
  return page({
    title: opts.title,
    csp,
    head: `<link rel="stylesheet" href="${escapeHtml(opts.styleUri)}">`,
    body: `<script nonce="${escapeHtml(opts.nonce)}" src="${escapeHtml(opts.scriptUri)}"></script>`,
  });
}

/**
 * A standalone report: one file that needs no network. The state is JSON in a data block (not run, so the
 * CSP does not apply to it), with every '<' escaped so no text in it can close the tag.
 */
export function reportHtml(opts: ReportHtmlOptions): string {
  const nonce = makeNonce();
  const csp = ["default-src 'none'", `style-src 'nonce-${nonce}'`, 'img-src data:', `script-src 'nonce-${nonce}'`].join(
    '; ',
  );
  return page({
    title: opts.title,
    csp,
    head: `<style nonce="${nonce}">\n${inlineText(opts.style, 'style')}\n</style>`,
    body:
      `<script type="application/json" id="${STATE_ID}">${jsonForHtml(opts.state)}</script>\n` +
      `<script nonce="${nonce}">\n${inlineText(opts.script, 'script')}\n</script>`,
    report: true,
  });
}

/** 32 random characters [A-Za-z0-9] from the platform's CSPRNG. */
export function makeNonce(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let nonce = '';
  const bytes = new Uint8Array(64);
  while (nonce.length < 32) {
    globalThis.crypto.getRandomValues(bytes);
    for (const b of bytes) {
      // 248 = 4 * 62: rejecting the rest keeps every character equally likely.
      if (b < 248 && nonce.length < 32) nonce += alphabet[b % 62];
    }
  }
  return nonce;
}

function page(p: { title: string; csp: string; head: string; body: string; report?: boolean }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(p.csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title>
${p.head}
</head>
<body${p.report ? ' class="kmem-report"' : ''}>
<main id="${ROOT_ID}" class="kmem" aria-label="${escapeHtml(p.title)}"></main>
${p.body}
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> data block: no '<' (so no "</script>" or "<!--"), no U+2028/9. */
function jsonForHtml(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Bundle text inlined in a <script> or <style>: the source-map comment goes (a report loads nothing), and
 * any "</script" or "<!--" is broken up so it cannot end the element early (esbuild already escapes them
 * in string literals; this is the belt to its braces).
 */
function inlineText(text: string, tag: 'script' | 'style'): string {
  const closer = new RegExp(`</(${tag})`, 'gi');
  return text
    .replace(/^\s*(\/\/|\/\*)# sourceMappingURL=.*$/gm, '')
    .replace(closer, '<\\/$1')
    .replace(/<!--/g, '<\\!--');
}
