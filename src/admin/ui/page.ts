// The dashboard's HTML shell: static markup the script fills in. No inline script or style (the
// Content-Security-Policy allows only this listener's own files). Served as /.
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dito dashboard</title>
<link rel="stylesheet" href="/dashboard.css">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1><span>Dito</span> dashboard</h1>
  <div class="meta">
    <span>config <code id="config-hash">…</code></span>
    <span>loaded <span id="config-loaded">…</span></span>
    <span>up <span id="uptime">…</span></span>
  </div>
  <div class="spacer"></div>
  <span class="live" id="live">connecting</span>
  <button id="theme" type="button" title="Switch between light and dark">Theme</button>
  <button id="reload" class="primary" type="button">Reload config</button>
</header>
<main id="main">
  <div class="cards">
    <div class="card"><div class="label">Requests / s</div><div class="value" id="total-rps">–</div></div>
    <div class="card"><div class="label">5xx share</div><div class="value" id="total-errors">–</div></div>
    <div class="card"><div class="label">Connections</div><div class="value" id="connections">–</div></div>
    <div class="card"><div class="label">WebSockets</div><div class="value" id="websockets">–</div></div>
    <div class="card"><div class="label">Upstreams down</div><div class="value" id="upstreams-down">–</div></div>
    <div class="card"><div class="label">Redis</div><div class="value" id="redis-state">–</div></div>
  </div>
  <section>
    <h2>Locations, in match order</h2>
    <div class="locations" id="locations"><div class="empty">Loading…</div></div>
  </section>
  <div class="two">
    <section>
      <h2>Upstreams</h2>
      <table><thead><tr><th>Location</th><th>Target</th><th>State</th><th>Last failure</th></tr></thead>
      <tbody id="upstreams"></tbody></table>
    </section>
    <section>
      <h2>Recent reloads</h2>
      <table><thead><tr><th>When</th><th>Reason</th><th>Result</th><th>Config</th></tr></thead>
      <tbody id="reloads"></tbody></table>
    </section>
  </div>
  <section class="plugins-section">
    <h2>Plugins</h2>
    <table><thead><tr><th>Name</th><th>SHA-256</th><th>Signature</th></tr></thead>
    <tbody id="plugins"></tbody></table>
  </section>
</main>
<div class="login card hidden" id="login">
  <h2>Admin token</h2>
  <p class="muted">This admin listener asks for a bearer token. It is kept in this tab only.</p>
  <form id="login-form"><input id="token" type="password" autocomplete="off" placeholder="token">
  <button class="primary" type="submit">Open dashboard</button></form>
</div>
<div class="toast hidden" id="toast" role="status"></div>
</body>
</html>
`;

/** A small mark for the browser tab. */
export const FAVICON_SVG = String.raw`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2563eb"/><path d="M9 8h7a8 8 0 0 1 0 16H9z" fill="none" stroke="#fff" stroke-width="3.5"/></svg>`;
