/*
 * `kmem run --report FILE.html`: one self-contained HTML page about a run, for CI artifacts and for sharing a
 * bug story: the verdict and exit code, the machine, every detector report with the kernel's text, the
 * scenario's source with the lines that reported marked, events by kind (bars drawn in inline SVG), the caches
 * in use and the free areas per zone, the scenario's output and the kernel log. No scripts, no network: the
 * page opens anywhere. Every text from the run is HTML-escaped.
 */

/** The run document (schema kmem-run/1; docs/cli.md): what --json prints and this page shows. */
export interface RunDocument {
  readonly schema: string;
  readonly file: string;
  readonly status: 'finished' | 'error' | 'invalid';
  readonly exitCode: number;
  readonly statements?: number;
  readonly diagnostics: readonly {
    code: string;
    severity: string;
    message: string;
    line: number;
    column: number;
  }[];
  readonly error?: {
    code: string;
    message: string;
    line: number;
    column: number;
    /** The included file the error is in; absent: the scenario's own. */
    file?: string;
    report?: string;
  } | null;
  readonly machine?: {
    memoryBytes: number;
    cpus: number;
    arch: string;
    slabDebug: string | null;
    kasan: boolean;
    kmemleak: boolean;
    kfence: number;
  };
  readonly events?: { total: number; byKind: Record<string, number>; digest: string };
  readonly reports?: readonly {
    kind: string;
    seq: number;
    line: number;
    file?: string;
    cpu: number;
    what: string;
    address?: string;
    cache?: string;
    size?: number;
  }[];
  readonly reportCounts?: Record<string, { made: number; expected: number }>;
  readonly output?: readonly string[];
  readonly log?: readonly string[];
  readonly logDropped?: number;
  readonly views?: {
    summary: { freePages: number; totalPages: number; slabPages: number };
    slabinfo: readonly {
      name: string;
      activeObjs: number;
      numObjs: number;
      objSize: number;
      objPerSlab: number;
      pagesPerSlab: number;
      numSlabs: number;
      liveObjects: number;
    }[];
    buddyinfo: readonly {
      node: number;
      zone: string;
      nrFree: readonly number[];
      freePages: number;
      managedPages: number;
    }[];
    files: Record<string, string>;
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #1d1d1f; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.verdict { display: inline-block; padding: .2em .7em; border-radius: 4px; font-weight: 600; }
.ok { background: #e3f6e8; color: #155724; } .findings { background: #fdecea; color: #8a1c1c; } .invalid { background: #fff4d6; color: #6b4e00; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .15em .7em; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f6f6f6; } td:first-child, th:first-child { text-align: left; }
pre { background: #f7f7f8; padding: .7em; overflow-x: auto; font: 12px/1.4 ui-monospace, monospace; }
.src { counter-reset: line; } .src span { display: block; } .src span.hit { background: #fdecea; }
.src span::before { counter-increment: line; content: counter(line); display: inline-block; width: 3.5em; color: #999; }
.muted { color: #777; }
`;

function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`;
}

/** Horizontal bars in inline SVG: one per label, scaled to the largest value. */
function bars(entries: readonly [string, number][]): string {
  if (entries.length === 0) return '<p class="muted">none</p>';
  const max = Math.max(...entries.map(([, v]) => v), 1);
  const rowH = 18;
  const labelW = 130;
  const barW = 480;
  const rows = entries
    .map(([label, v], i) => {
      const w = Math.max(1, Math.round((v / max) * barW));
      const y = i * rowH;
      return (
        `<text x="0" y="${y + 13}" font-size="12">${escapeHtml(label)}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 6}" fill="#4a7bd0"/>` +
        `<text x="${labelW + w + 6}" y="${y + 13}" font-size="12">${v}</text>`
      );
    })
    .join('');
  return `<svg role="img" width="${labelW + barW + 80}" height="${entries.length * rowH}">${rows}</svg>`;
}

/** The page. `source` is the scenario's text, shown with line numbers. */
export function renderHtmlReport(doc: RunDocument, source: string): string {
  const verdict =
    doc.status === 'invalid'
      ? '<span class="verdict invalid">does not compile (exit 2)</span>'
      : doc.exitCode === 0
        ? '<span class="verdict ok">clean (exit 0)</span>'
        : `<span class="verdict findings">findings (exit ${doc.exitCode})</span>`;
  const parts: string[] = [
    `<h1>kmem run ${escapeHtml(doc.file)}</h1>`,
    `<p>${verdict} ${doc.statements !== undefined ? `${doc.statements} statements` : ''}${
      doc.events
        ? `, ${doc.events.total} events <span class="muted">(digest ${escapeHtml(doc.events.digest)})</span>`
        : ''
    }</p>`,
  ];
  if (doc.machine) {
    const m = doc.machine;
    const detectors = [
      m.slabDebug !== null ? `slab_debug "${m.slabDebug}"` : '',
      m.kasan ? 'KASAN' : '',
      m.kmemleak ? 'kmemleak' : '',
      m.kfence ? `KFENCE every ${m.kfence} ms` : '',
    ].filter((d) => d !== '');
    parts.push(
      `<p>Machine: ${m.memoryBytes / 1048576} MiB, ${m.cpus} CPU${m.cpus === 1 ? '' : 's'}, ${escapeHtml(m.arch)}; detectors: ${
        detectors.length > 0 ? escapeHtml(detectors.join(', ')) : 'none'
      }.</p>`,
    );
  }
  if (doc.diagnostics.length > 0) {
    parts.push(
      '<h2>Diagnostics</h2>',
      table(
        ['line:col', 'severity', 'code', 'message'],
        doc.diagnostics.map((d) => [`${d.line}:${d.column}`, d.severity, d.code, d.message]),
      ),
    );
  }
  if (doc.error) {
    parts.push(
      '<h2>Stopped on an error</h2>',
      `<p>${doc.error.file ? `${escapeHtml(doc.error.file)}, ` : ''}line ${doc.error.line}: <b>${escapeHtml(doc.error.code)}</b> ${escapeHtml(doc.error.message)}</p>`,
      doc.error.report ? `<pre>${escapeHtml(doc.error.report)}</pre>` : '',
    );
  }
  if (doc.reports && doc.reportCounts) {
    const counts = Object.entries(doc.reportCounts).filter(([, c]) => c.made > 0 || c.expected > 0);
    parts.push(
      '<h2>Detector reports</h2>',
      counts.length > 0
        ? table(
            ['detector', 'reports', 'expected'],
            counts.map(([k, c]) => [k, c.made, c.expected]),
          )
        : '<p class="muted">No detector made a report.</p>',
    );
    if (doc.reports.length > 0) {
      parts.push(
        table(
          ['#', 'line', 'detector', 'found', 'address', 'cache / size'],
          doc.reports.map((r) => [
            r.seq,
            r.file ? `${r.file}:${r.line}` : r.line,
            r.kind,
            r.what,
            r.address ?? '',
            r.cache ?? (r.size !== undefined ? `${r.size} bytes` : ''),
          ]),
        ),
      );
    }
  }
  const hit = new Set([
    ...(doc.reports ?? []).filter((r) => !r.file).map((r) => r.line),
    ...(doc.error && !doc.error.file ? [doc.error.line] : []),
  ]);
  const src = source
    .replace(/\n$/, '')
    .split('\n')
    .map((l, i) => `<span${hit.has(i + 1) ? ' class="hit"' : ''}>${escapeHtml(l) || ' '}</span>`)
    .join('');
  parts.push(`<h2>Scenario</h2><pre class="src">${src}</pre>`);
  if (doc.events) {
    parts.push('<h2>Events by kind</h2>', bars(Object.entries(doc.events.byKind).sort((a, b) => b[1] - a[1])));
  }
  if (doc.views) {
    const v = doc.views;
    parts.push(
      '<h2>Memory at the end</h2>',
      `<p>${v.summary.freePages} of ${v.summary.totalPages} pages free, ${v.summary.slabPages} in slabs.</p>`,
      table(
        ['cache', 'live', 'active objs', 'objs', 'objsize', 'objs/slab', 'pages/slab', 'slabs'],
        v.slabinfo.map((c) => [
          c.name,
          c.liveObjects,
          c.activeObjs,
          c.numObjs,
          c.objSize,
          c.objPerSlab,
          c.pagesPerSlab,
          c.numSlabs,
        ]),
      ),
      table(
        ['zone', ...Array.from({ length: 11 }, (_, i) => `order ${i}`), 'free pages'],
        v.buddyinfo.map((z) => [`Node ${z.node}, ${z.zone}`, ...z.nrFree, z.freePages]),
      ),
    );
    for (const [path, text] of Object.entries(v.files)) {
      parts.push(`<h2>${escapeHtml(path)}</h2><pre>${escapeHtml(text)}</pre>`);
    }
  }
  if (doc.output && doc.output.length > 0) {
    parts.push('<h2>Output</h2>', `<pre>${escapeHtml(doc.output.join(''))}</pre>`);
  }
  if (doc.log && doc.log.length > 0) {
    const dropped = doc.logDropped ? `\n(${doc.logDropped} more messages not kept)` : '';
    parts.push('<h2>Kernel log</h2>', `<pre>${escapeHtml(doc.log.join('') + dropped)}</pre>`);
  }
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<title>kmem run ${escapeHtml(doc.file)}</title><style>${STYLE}</style></head><body>\n` +
    parts.filter((p) => p !== '').join('\n') +
    '\n</body></html>\n'
  );
}
