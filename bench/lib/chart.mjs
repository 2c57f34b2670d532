// A dependency-free SVG of the results: for each scenario, req/s (messages/s for the WebSocket echo)
// and p99 latency per proxy as horizontal bars (one panel per scenario and metric, each with its own
// scale; Dito in orange).
import { scenarioHeading } from './report.mjs';

const panelWidth = 425;
const labelWidth = 130;
const barArea = 200;
const rowHeight = 20;
const titleHeight = 26;

function escapeXml(text) {
  return String(text).replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c],
  );
}

function formatValue(value, unit) {
  if (unit !== 'ms') return Math.round(value).toLocaleString('en-US');
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

function panel(x, y, title, rows, unit) {
  const max = Math.max(...rows.map((row) => row.value), 1e-9);
  const parts = [`<text x="${x}" y="${y + 16}" class="title">${escapeXml(title)}</text>`];
  rows.forEach((row, i) => {
    const top = y + titleHeight + i * rowHeight;
    const width = Math.max(1, (row.value / max) * barArea);
    const fill = row.proxy.startsWith('dito') ? '#e8710a' : row.proxy === 'direct' ? '#9aa0a6' : '#4a7bb7';
    parts.push(
      `<text x="${x + labelWidth - 6}" y="${top + 14}" class="label">${escapeXml(row.proxy)}</text>`,
      `<rect x="${x + labelWidth}" y="${top + 3}" width="${width.toFixed(1)}" height="${rowHeight - 6}" fill="${fill}"/>`,
      `<text x="${x + labelWidth + width + 4}" y="${top + 14}" class="value">${formatValue(row.value, unit)}</text>`,
    );
  });
  return parts.join('\n');
}

/** summary.scenarios: [{ title, connections, cases: [{ proxy, median: { rps, p99Ms } }] }] */
export function renderChart(summary) {
  const blocks = [];
  let y = 40;
  for (const scenario of summary.scenarios) {
    const measured = scenario.cases.filter((c) => c.median);
    if (measured.length === 0) continue;
    const title = scenarioHeading(scenario);
    const unit = scenario.unit ?? 'req/s';
    const rps = measured.map((c) => ({ proxy: c.proxy, value: c.median.rps }));
    const p99 = measured.map((c) => ({ proxy: c.proxy, value: c.median.p99Ms }));
    blocks.push(panel(10, y, `${title}: ${unit} (higher is better)`, rps, unit));
    blocks.push(panel(10 + panelWidth, y, `${title}: p99 latency (lower is better)`, p99, 'ms'));
    y += titleHeight + measured.length * rowHeight + 16;
  }
  const width = 2 * panelWidth + 20;
  const heading = `Dito benchmark, ${summary.finishedAt.slice(0, 16).replace('T', ' ')} UTC: ${summary.machine.cores} cores, Node ${summary.machine.node}, ${summary.machine.nginx ?? 'no nginx'}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="Helvetica, Arial, sans-serif">
<style>.title{font-size:12px;font-weight:bold;fill:#202124}.label{font-size:11px;text-anchor:end;fill:#202124}.value{font-size:11px;fill:#3c4043}.head{font-size:14px;font-weight:bold;fill:#202124}</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="22" class="head">${escapeXml(heading)}</text>
${blocks.join('\n')}
</svg>
`;
}
