// The dashboard's browser script (plain ES2020, no dependencies): loads the API documents, follows
// the once-a-second event stream, draws the charts as SVG and triggers reloads. Served as
// /dashboard.js. Kept free of backticks and template placeholders: it lives in a String.raw.
export const DASHBOARD_JS = String.raw`'use strict';
(function () {
  var HISTORY = 60;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var state = {
    token: sessionStorage.getItem('dito-admin-token'),
    configHash: null,
    startedAt: null,
    times: [],
    series: {},
    routes: [],
    streaming: false,
  };

  // ---- theme -------------------------------------------------------------------------------
  function systemTheme() {
    return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }
  function applyTheme(theme) {
    document.documentElement.setAttribute('data-theme', theme);
    var button = document.getElementById('theme');
    if (button) button.textContent = theme === 'dark' ? 'Light theme' : 'Dark theme';
  }
  var stored = localStorage.getItem('dito-theme');
  var params = new URLSearchParams(location.search);
  applyTheme(params.get('theme') || stored || systemTheme());

  // ---- helpers -----------------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else if (key === 'className') node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmtNumber(value, digits) {
    if (value === null || value === undefined) return '–';
    if (value >= 1000) return (value / 1000).toFixed(1) + 'k';
    return value.toFixed(digits === undefined ? 0 : digits);
  }
  function fmtPercent(value) {
    if (value === null || value === undefined) return '–';
    var percent = value * 100;
    return (percent < 10 && percent > 0 ? percent.toFixed(1) : percent.toFixed(0)) + ' %';
  }
  function fmtMs(value) {
    if (value === null || value === undefined) return '–';
    if (value >= 1000) return (value / 1000).toFixed(2) + ' s';
    return (value < 10 ? value.toFixed(2) : value.toFixed(0)) + ' ms';
  }
  function fmtAxisMs(value) {
    if (value >= 1000) return value / 1000 + 's';
    return value + 'ms';
  }
  function fmtTime(iso) {
    if (!iso) return '–';
    return new Date(iso).toLocaleTimeString([], { hour12: false });
  }
  function fmtDuration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + m + 'm';
    if (m > 0) return m + 'm ' + (s % 60) + 's';
    return s + 's';
  }
  function shortHash(hash) { return hash ? hash.slice(0, 12) : '–'; }
  function toast(message, failed) {
    var box = $('toast');
    box.textContent = message;
    box.className = 'toast' + (failed ? ' failed' : '');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.className = 'toast hidden'; }, failed ? 9000 : 4000);
  }

  function headers() {
    return state.token ? { authorization: 'Bearer ' + state.token } : {};
  }
  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({ accept: 'application/json' }, headers(), options.headers || {});
    options.credentials = 'same-origin';
    return fetch(path, options).then(function (response) {
      if (response.status === 401) {
        var challenge = response.headers.get('www-authenticate') || '';
        if (/^bearer/i.test(challenge)) showLogin();
        throw new Error('unauthorized');
      }
      if (!response.ok && response.status !== 422) throw new Error(path + ': HTTP ' + response.status);
      return response.json();
    });
  }
  function showLogin() {
    $('main').classList.add('hidden');
    $('login').classList.remove('hidden');
  }

  // ---- charts ------------------------------------------------------------------------------
  function niceMax(value) {
    if (!(value > 0)) return 1;
    var magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * magnitude >= value) return steps[i] * magnitude;
    return 10 * magnitude;
  }
  /** lines: [{ values, color, fill }]; format: axis label formatter; floor: smallest axis maximum. */
  function drawChart(node, lines, format, floor) {
    var width = Math.max(120, node.clientWidth || 300);
    var height = 70, left = 40, top = 6, bottom = 4;
    node.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    clear(node);
    var max = floor || 0;
    lines.forEach(function (line) {
      line.values.forEach(function (v) { if (v !== null && v > max) max = v; });
    });
    max = niceMax(max);
    var plotWidth = width - left - 2, plotHeight = height - top - bottom;
    var x = function (i) { return left + (plotWidth * i) / (HISTORY - 1); };
    var y = function (v) { return top + plotHeight - (plotHeight * v) / max; };
    node.appendChild(svg('line', { x1: left, x2: width - 2, y1: y(max), y2: y(max), class: 'gridline' }));
    node.appendChild(svg('line', { x1: left, x2: width - 2, y1: y(max / 2), y2: y(max / 2), class: 'gridline' }));
    node.appendChild(svg('line', { x1: left, x2: width - 2, y1: y(0), y2: y(0), class: 'gridline' }));
    var label = svg('text', { x: left - 4, y: y(max) + 8, 'text-anchor': 'end', class: 'axis' });
    label.textContent = format(max);
    node.appendChild(label);
    var zero = svg('text', { x: left - 4, y: y(0), 'text-anchor': 'end', class: 'axis' });
    zero.textContent = '0';
    node.appendChild(zero);
    lines.forEach(function (line) {
      var values = line.values.slice(-HISTORY);
      var offset = HISTORY - values.length;
      var d = '', area = '', open = false, firstX = 0, lastX = 0;
      values.forEach(function (v, i) {
        if (v === null || v === undefined) {
          if (open && line.fill) area += 'L' + lastX + ' ' + y(0) + 'L' + firstX + ' ' + y(0) + 'Z';
          open = false;
          return;
        }
        var px = x(i + offset).toFixed(1), py = y(v).toFixed(1);
        if (!open) { d += 'M' + px + ' ' + py; area += 'M' + px + ' ' + y(0) + 'L' + px + ' ' + py; firstX = px; }
        else { d += 'L' + px + ' ' + py; area += 'L' + px + ' ' + py; }
        lastX = px;
        open = true;
      });
      if (open && line.fill) area += 'L' + lastX + ' ' + y(0) + 'Z';
      if (line.fill && area) node.appendChild(svg('path', { d: area, fill: line.color, 'fill-opacity': '0.15', stroke: 'none' }));
      if (d) node.appendChild(svg('path', { d: d, fill: 'none', stroke: line.color, 'stroke-width': '1.6', 'stroke-linejoin': 'round' }));
    });
  }
  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  // ---- locations ---------------------------------------------------------------------------
  function seriesFor(path) {
    if (!state.series[path]) state.series[path] = { rps: [], error: [], p50: [], p99: [] };
    return state.series[path];
  }
  function push(list, value) {
    list.push(value === undefined ? null : value);
    if (list.length > HISTORY) list.shift();
  }
  function renderRoutes(routes) {
    state.routes = routes;
    var container = $('locations');
    clear(container);
    if (routes.length === 0) container.appendChild(el('div', { className: 'empty', text: 'No locations configured.' }));
    routes.forEach(function (route) {
      var chips = route.middlewares.map(function (m) {
        return el('span', { className: 'chip', text: m.name + (m.kind === 'plugin' ? ' (plugin)' : '') });
      });
      if (route.websocket) chips.push(el('span', { className: 'chip', text: 'websocket' }));
      if (chips.length === 0) chips.push(el('span', { className: 'chip', text: 'no middlewares' }));
      function chart(kind, name, legend) {
        return el('div', { className: 'chart' }, [
          el('div', { className: 'name' }, [el('span', { text: name }), legend || null]),
          (function () { var s = document.createElementNS(SVG_NS, 'svg'); s.setAttribute('data-chart', kind); return s; })(),
        ]);
      }
      var legend = el('span', {}, [el('span', { className: 'legend-p50', text: 'p50 ' }), el('span', { className: 'legend-p99', text: 'p99' })]);
      var card = el('div', { className: 'location', 'data-location': route.path }, [
        el('div', { className: 'title' }, [
          el('span', { className: 'muted', text: '#' + route.index }),
          el('code', { text: route.path }),
          el('span', { className: 'target mono', text: '→ ' + route.target }),
        ]),
        el('div', { className: 'chips' }, chips),
        el('div', { className: 'numbers' }, [
          el('span', {}, [el('b', { 'data-metric': 'rps', text: '0' }), document.createTextNode(' req/s')]),
          el('span', {}, [el('b', { 'data-metric': 'errors', text: '–' }), document.createTextNode(' 5xx')]),
          el('span', {}, [document.createTextNode('p50 '), el('b', { 'data-metric': 'p50', text: '–' })]),
          el('span', {}, [document.createTextNode('p99 '), el('b', { 'data-metric': 'p99', text: '–' })]),
          route.rate_limiting ? el('span', {}, [document.createTextNode('limited '), el('b', { 'data-metric': 'limited', text: '–' })]) : null,
          route.cache ? el('span', {}, [document.createTextNode('cache hits '), el('b', { 'data-metric': 'cache', text: '–' })]) : null,
        ]),
        el('div', { className: 'charts' }, [
          chart('rps', 'requests / s'),
          chart('errors', '5xx share'),
          chart('latency', 'latency', legend),
        ]),
      ]);
      container.appendChild(card);
    });
    drawAll();
  }
  function drawAll() {
    var accent = cssVar('--accent'), error = cssVar('--error'), p50 = cssVar('--p50'), p99 = cssVar('--p99');
    state.routes.forEach(function (route) {
      var card = document.querySelector('[data-location="' + CSS.escape(route.path) + '"]');
      if (!card) return;
      var s = seriesFor(route.path);
      drawChart(card.querySelector('[data-chart=rps]'), [{ values: s.rps, color: accent, fill: true }], function (v) { return fmtNumber(v); }, 1);
      drawChart(card.querySelector('[data-chart=errors]'), [{ values: s.error.map(function (v) { return v === null ? null : v * 100; }), color: error, fill: true }], function (v) { return v + '%'; }, 1);
      drawChart(card.querySelector('[data-chart=latency]'), [{ values: s.p50, color: p50 }, { values: s.p99, color: p99 }], fmtAxisMs, 1);
    });
  }
  function updateNumbers(locations) {
    var total = 0, errors = 0;
    locations.forEach(function (loc) {
      var s = seriesFor(loc.path);
      push(s.rps, loc.requests_per_second);
      push(s.error, loc.error_rate);
      push(s.p50, loc.p50_ms);
      push(s.p99, loc.p99_ms);
      total += loc.requests_per_second;
      errors += (loc.error_rate || 0) * loc.requests_per_second;
      var card = document.querySelector('[data-location="' + CSS.escape(loc.path) + '"]');
      if (!card) return;
      card.querySelector('[data-metric=rps]').textContent = fmtNumber(loc.requests_per_second);
      card.querySelector('[data-metric=errors]').textContent = fmtPercent(loc.error_rate);
      card.querySelector('[data-metric=p50]').textContent = fmtMs(loc.p50_ms);
      card.querySelector('[data-metric=p99]').textContent = fmtMs(loc.p99_ms);
      var limited = card.querySelector('[data-metric=limited]');
      if (limited) limited.textContent = fmtPercent(loc.rate_limited_ratio);
      var cache = card.querySelector('[data-metric=cache]');
      if (cache) cache.textContent = fmtPercent(loc.cache_hit_ratio);
    });
    $('total-rps').textContent = fmtNumber(total);
    $('total-errors').textContent = total > 0 ? fmtPercent(errors / total) : '–';
  }

  // ---- tables ------------------------------------------------------------------------------
  function renderUpstreams(upstreams) {
    var body = $('upstreams');
    clear(body);
    var down = 0;
    upstreams.forEach(function (upstream) {
      upstream.targets.forEach(function (target) {
        if (target.state === 'down') down++;
        var failure = target.last_failure
          ? el('span', { className: 'error-text', text: target.last_failure.replace('DITO_ERR_UPSTREAM_', '').toLowerCase() + ' at ' + fmtTime(target.last_failure_at) + (target.consecutive_failures > 1 ? ' (' + target.consecutive_failures + ' in a row)' : '') })
          : el('span', { className: 'muted', text: '–' });
        body.appendChild(el('tr', { 'data-upstream': upstream.path, 'data-state': target.state }, [
          el('td', {}, [el('code', { text: upstream.path })]),
          el('td', { className: 'mono', text: target.url }),
          el('td', {}, [el('span', { className: 'badge ' + target.state, text: target.state.toUpperCase() })]),
          el('td', {}, [failure]),
        ]));
      });
    });
    if (upstreams.length === 0) body.appendChild(el('tr', {}, [el('td', { colspan: '4', className: 'muted', text: 'No upstreams.' })]));
    $('upstreams-down').textContent = String(down);
    $('upstreams-down').className = 'value' + (down > 0 ? ' error-text' : '');
  }
  function renderReloads(reloads) {
    var body = $('reloads');
    clear(body);
    reloads.forEach(function (reload) {
      var result = el('td', {}, [el('span', { className: 'badge ' + (reload.ok ? 'ok' : 'failed'), text: reload.ok ? 'applied' : 'refused' })]);
      if (reload.error) result.appendChild(el('div', { className: 'error-text', text: reload.error }));
      body.appendChild(el('tr', { 'data-reason': reload.reason, 'data-ok': String(reload.ok) }, [
        el('td', { text: fmtTime(reload.at) }),
        el('td', { text: reload.reason }),
        result,
        el('td', {}, [el('code', { text: shortHash(reload.config_sha256) })]),
      ]));
    });
  }
  function renderPlugins(doc) {
    var body = $('plugins');
    clear(body);
    doc.plugins.forEach(function (plugin) {
      body.appendChild(el('tr', {}, [
        el('td', {}, [el('code', { text: plugin.name })]),
        el('td', {}, [el('code', { text: shortHash(plugin.sha256) })]),
        el('td', {}, [el('span', { className: 'badge ok', text: plugin.signature })]),
      ]));
    });
    if (doc.plugins.length === 0) body.appendChild(el('tr', {}, [el('td', { colspan: '3', className: 'muted', text: 'No plugins loaded.' })]));
  }
  function renderRedis(redis) {
    var node = $('redis-state');
    node.textContent = redis.enabled ? redis.state : 'off';
    node.className = 'value' + (redis.enabled && !redis.ready ? ' error-text' : '');
  }
  function renderConfig(doc) {
    state.configHash = doc.sha256;
    $('config-hash').textContent = shortHash(doc.sha256);
    $('config-hash').title = doc.file + ' — ' + doc.sha256;
    $('config-loaded').textContent = fmtTime(doc.loaded_at);
    state.startedAt = Date.parse(doc.started_at);
  }

  // ---- data flow ---------------------------------------------------------------------------
  function loadStatic() {
    return Promise.all([api('/api/config'), api('/api/routes'), api('/api/plugins')]).then(function (docs) {
      renderConfig(docs[0]);
      renderRoutes(docs[1].routes);
      renderPlugins(docs[2]);
    });
  }
  function onTick(tick) {
    updateNumbers(tick.locations || []);
    $('connections').textContent = fmtNumber(tick.active_connections);
    $('websockets').textContent = fmtNumber(tick.active_websockets);
    renderUpstreams(tick.upstreams || []);
    renderRedis(tick.redis || { enabled: false });
    renderReloads(tick.reloads || []);
    if (state.startedAt) $('uptime').textContent = fmtDuration(Date.now() - state.startedAt);
    drawAll();
    if (tick.config_sha256 && state.configHash && tick.config_sha256 !== state.configHash) {
      state.configHash = tick.config_sha256;
      loadStatic().catch(function () {});
    }
  }
  function setLive(on) {
    state.streaming = on;
    $('live').textContent = on ? 'live' : 'reconnecting';
    $('live').className = 'live' + (on ? ' on' : '');
  }
  /** The event stream through fetch (not EventSource): it can carry the bearer token. */
  function stream() {
    var decoder = new TextDecoder();
    var buffer = '';
    fetch('/api/events', { headers: Object.assign({ accept: 'text/event-stream' }, headers()), credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok || !response.body) throw new Error('HTTP ' + response.status);
        setLive(true);
        var reader = response.body.getReader();
        function read() {
          return reader.read().then(function (chunk) {
            if (chunk.done) throw new Error('stream ended');
            buffer += decoder.decode(chunk.value, { stream: true });
            var end = buffer.indexOf('\n\n');
            while (end >= 0) {
              var frame = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              end = buffer.indexOf('\n\n');
              var data = frame.split('\n').filter(function (line) { return line.indexOf('data: ') === 0; })
                .map(function (line) { return line.slice(6); }).join('\n');
              if (data) onTick(JSON.parse(data));
            }
            return read();
          });
        }
        return read();
      })
      .catch(function () {
        setLive(false);
        setTimeout(stream, 1000);
      });
  }
  function seedHistory(stats) {
    if (!stats.history) return;
    Object.keys(stats.history.series).forEach(function (path) {
      var points = stats.history.series[path];
      var s = seriesFor(path);
      s.rps = points.requests_per_second.slice(-HISTORY);
      s.error = points.error_rate.slice(-HISTORY);
      s.p50 = points.p50_ms.slice(-HISTORY);
      s.p99 = points.p99_ms.slice(-HISTORY);
    });
  }
  function reload() {
    var button = $('reload');
    button.disabled = true;
    api('/api/reload', { method: 'POST' })
      .then(function (result) {
        var r = result.reload;
        if (r.ok) toast('Config reloaded (' + shortHash(r.config_sha256) + ') in ' + r.duration_ms + ' ms');
        else toast('Reload refused: ' + r.error, true);
        return Promise.all([api('/api/reloads'), loadStatic()]).then(function (docs) { renderReloads(docs[0].reloads); });
      })
      .catch(function (err) { toast('Reload failed: ' + err.message, true); })
      .then(function () { button.disabled = false; });
  }
  function start() {
    $('theme').addEventListener('click', function () {
      var next = document.documentElement.getAttribute('data-theme') === 'dark' ? 'light' : 'dark';
      localStorage.setItem('dito-theme', next);
      applyTheme(next);
      drawAll();
    });
    $('reload').addEventListener('click', reload);
    $('login-form').addEventListener('submit', function (event) {
      event.preventDefault();
      state.token = $('token').value;
      sessionStorage.setItem('dito-admin-token', state.token);
      $('login').classList.add('hidden');
      $('main').classList.remove('hidden');
      boot();
    });
    window.addEventListener('resize', drawAll);
    applyTheme(document.documentElement.getAttribute('data-theme'));
    boot();
  }
  function boot() {
    Promise.all([loadStatic(), api('/api/stats?history=1'), api('/api/reloads')])
      .then(function (docs) {
        seedHistory(docs[1]);
        renderReloads(docs[2].reloads);
        drawAll();
        stream();
      })
      .catch(function (err) {
        if (err.message !== 'unauthorized') toast('Cannot load the admin API: ' + err.message, true);
      });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;
