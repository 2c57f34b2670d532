// The dashboard's stylesheet: light and dark themes as CSS variables (the system's choice unless
// the page's toggle set one), a grid that fits a laptop screen. Served as /dashboard.css.
export const DASHBOARD_CSS = String.raw`
:root {
  --bg: #f4f6f9; --panel: #ffffff; --text: #1c2430; --muted: #5f6b7a; --border: #dde3ea;
  --accent: #2563eb; --accent-soft: rgba(37, 99, 235, 0.14); --good: #15803d; --good-soft: #dcfce7;
  --bad: #c81e1e; --bad-soft: #fde2e2; --warn: #b45309; --warn-soft: #fef3c7; --grid: #e9edf2;
  --p50: #0891b2; --p99: #9333ea; --error: #dc2626; --chip: #eef2f7;
  color-scheme: light;
}
:root[data-theme='dark'] {
  --bg: #0f141b; --panel: #171e27; --text: #e3e8ef; --muted: #93a0b1; --border: #263140;
  --accent: #60a5fa; --accent-soft: rgba(96, 165, 250, 0.18); --good: #4ade80; --good-soft: #133321;
  --bad: #f87171; --bad-soft: #3b1717; --warn: #fbbf24; --warn-soft: #3a2c0c; --grid: #222c38;
  --p50: #22d3ee; --p99: #c084fc; --error: #f87171; --chip: #202a36;
  color-scheme: dark;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif;
}
code, .mono { font-family: ui-monospace, 'SFMono-Regular', Menlo, 'DejaVu Sans Mono', monospace; font-size: 12.5px; }
header {
  display: flex; align-items: center; gap: 16px; padding: 10px 20px;
  background: var(--panel); border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 2;
}
header h1 { font-size: 18px; margin: 0; letter-spacing: 0.02em; }
header h1 span { color: var(--accent); }
header .meta { color: var(--muted); font-size: 12.5px; display: flex; gap: 14px; flex-wrap: wrap; }
header .spacer { flex: 1; }
button {
  font: inherit; border: 1px solid var(--border); background: var(--panel); color: var(--text);
  border-radius: 6px; padding: 5px 12px; cursor: pointer;
}
button:hover { border-color: var(--accent); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:disabled { opacity: 0.6; cursor: progress; }
.live { display: inline-flex; align-items: center; gap: 6px; font-size: 12.5px; color: var(--muted); }
.live::before { content: ''; width: 8px; height: 8px; border-radius: 50%; background: var(--bad); }
.live.on::before { background: var(--good); }
main { padding: 16px 20px 28px; max-width: 1500px; margin: 0 auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-bottom: 16px; }
.card, section {
  background: var(--panel); border: 1px solid var(--border); border-radius: 10px;
}
.card { padding: 10px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { font-size: 22px; font-weight: 600; margin-top: 2px; font-variant-numeric: tabular-nums; }
section { margin-bottom: 16px; }
section > h2 {
  font-size: 13px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted);
  margin: 0; padding: 10px 14px; border-bottom: 1px solid var(--border);
}
.locations { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px; padding: 12px; }
.location { border: 1px solid var(--border); border-radius: 8px; padding: 10px 12px; }
.location .title { display: flex; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.location .title code { font-weight: 600; font-size: 13.5px; }
.location .target { color: var(--muted); font-size: 12px; }
.chips { display: flex; gap: 4px; flex-wrap: wrap; margin: 4px 0 6px; }
.chip { background: var(--chip); border-radius: 999px; padding: 0 8px; font-size: 11.5px; color: var(--muted); }
.numbers { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12.5px; color: var(--muted); margin-bottom: 4px; }
.numbers b { color: var(--text); font-variant-numeric: tabular-nums; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; }
.chart .name { font-size: 11.5px; color: var(--muted); display: flex; justify-content: space-between; }
.chart svg { width: 100%; height: 70px; display: block; }
.chart .axis { fill: var(--muted); font-size: 9px; }
.chart .gridline { stroke: var(--grid); stroke-width: 1; }
.legend-p50 { color: var(--p50); } .legend-p99 { color: var(--p99); }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 6px 14px; border-bottom: 1px solid var(--border); vertical-align: top; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
tr:last-child td { border-bottom: none; }
.badge { display: inline-block; border-radius: 4px; padding: 0 7px; font-size: 11.5px; font-weight: 600; }
.badge.up, .badge.ok { background: var(--good-soft); color: var(--good); }
.badge.down, .badge.failed { background: var(--bad-soft); color: var(--bad); }
.badge.unknown, .badge.other { background: var(--chip); color: var(--muted); }
.badge.warn { background: var(--warn-soft); color: var(--warn); }
.two { display: grid; grid-template-columns: 1.2fr 1fr; gap: 16px; margin-bottom: 16px; }
.two > section { margin-bottom: 0; }
.error-text { color: var(--bad); font-size: 12.5px; word-break: break-word; }
.muted { color: var(--muted); }
.empty { color: var(--muted); padding: 12px 14px; }
.toast {
  position: fixed; right: 20px; bottom: 20px; padding: 10px 14px; border-radius: 8px; max-width: 520px;
  background: var(--panel); border: 1px solid var(--border); box-shadow: 0 6px 24px rgba(0, 0, 0, 0.18);
}
.toast.failed { border-color: var(--bad); }
.hidden { display: none; }
.login { max-width: 420px; margin: 80px auto; padding: 20px; }
.login input { width: 100%; font: inherit; padding: 6px 8px; margin: 10px 0; border-radius: 6px;
  border: 1px solid var(--border); background: var(--bg); color: var(--text); }
@media (max-width: 1100px) { .two { grid-template-columns: 1fr; } .two > section { margin-bottom: 16px; } }
@media (max-width: 560px) { .locations { grid-template-columns: 1fr; } .charts { grid-template-columns: 1fr; } }
`;
