import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';

/**
 * A self-contained HTML page of sections holding text, key figures, tables and chart.js charts.
 * chart.js's UMD bundle is inlined, so a report opens offline and can be mailed as one file.
 */
export type Block =
  | { kind: 'text'; text: string }
  | { kind: 'stats'; items: readonly (readonly [string, string | number])[] }
  | { kind: 'table'; columns: readonly string[]; rows: readonly (readonly (string | number)[])[] }
  /** A row of pictures: `src` is a data: URI (the page stays one file); without one the caption stands alone. */
  | { kind: 'images'; items: readonly { src?: string; caption: string }[] }
  /** `config` is a chart.js configuration ({ type, data, options }), passed through as JSON. */
  | { kind: 'chart'; title?: string; config: Record<string, unknown>; height?: number };

export interface Section {
  title: string;
  blocks: readonly Block[];
}

export interface Page {
  title: string;
  subtitle?: string;
  sections: readonly Section[];
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON that is safe inside a <script> element. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

let chartJs: string | undefined;
function chartJsSource(): string {
  // chart.js exports only its entry points; its UMD bundle sits next to the CommonJS one.
  chartJs ??= readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  return chartJs;
}

const fmt = (v: string | number): string => (typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(4) : String(v));

function renderBlock(b: Block, charts: Record<string, unknown>[]): string {
  switch (b.kind) {
    case 'text':
      return `<p>${escapeHtml(b.text)}</p>`;
    case 'stats':
      return `<dl class="stats">${b.items.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(fmt(v))}</dd></div>`).join('')}</dl>`;
    case 'table':
      return `<table><thead><tr>${b.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${b.rows
        .map((r) => `<tr>${r.map((v) => `<td${typeof v === 'number' ? ' class="num"' : ''}>${escapeHtml(fmt(v))}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`;
    case 'images':
      return `<div class="images">${b.items
        .map((i) => `<figure>${i.src ? `<img src="${escapeHtml(i.src)}" alt="${escapeHtml(i.caption)}">` : ''}<figcaption>${escapeHtml(i.caption)}</figcaption></figure>`)
        .join('')}</div>`;
    case 'chart':
      charts.push(b.config);
      return `<figure>${b.title ? `<figcaption>${escapeHtml(b.title)}</figcaption>` : ''}<div style="height:${b.height ?? 320}px"><canvas data-chart="${charts.length - 1}"></canvas></div></figure>`;
  }
}

export function renderPage(page: Page): string {
  const charts: Record<string, unknown>[] = [];
  const body = page.sections.map((s) => `<section><h2>${escapeHtml(s.title)}</h2>${s.blocks.map((b) => renderBlock(b, charts)).join('\n')}</section>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1.5rem;color:#1d2733}
h1{margin:0}h2{border-bottom:1px solid #d5dde5;padding-bottom:.3rem;margin-top:2rem}.sub{color:#5a6776}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.25rem .6rem;border-bottom:1px solid #e6ebf0;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.stats{display:flex;flex-wrap:wrap;gap:.75rem}.stats div{background:#f2f5f8;border-radius:6px;padding:.5rem .8rem}.stats dt{color:#5a6776;font-size:12px}.stats dd{margin:0;font-size:18px;font-weight:600}
figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}
.images{display:flex;flex-wrap:wrap;gap:.75rem}.images figure{margin:0;width:160px}.images img{max-width:160px;max-height:160px;display:block;border-radius:4px}.images figcaption{font-weight:400;font-size:12px;white-space:pre-line}
</style></head><body>
<h1>${escapeHtml(page.title)}</h1>${page.subtitle ? `<p class="sub">${escapeHtml(page.subtitle)}</p>` : ''}
${body}
${charts.length ? `<script>${chartJsSource()}</script>
<script type="application/json" id="chart-data">${scriptJson(charts)}</script>
<script>const configs=JSON.parse(document.getElementById('chart-data').textContent);for(const c of document.querySelectorAll('canvas[data-chart]')){const cfg=configs[+c.dataset.chart];cfg.options=Object.assign({responsive:true,maintainAspectRatio:false},cfg.options);new Chart(c,cfg);}</script>` : ''}
</body></html>
`;
}

export async function writePage(path: string, page: Page): Promise<void> {
  await writeFileAtomic(path, renderPage(page));
}
