// What `make bench` measures, as data: scenarios (the traffic) × proxies (what forwards it).
// A new case is one entry here: a Dito variant is a config fragment (plus an optional side action
// `during` the run), a new kind of traffic is a scenario (plus optionally its own load generator).

/**
 * The traffic. `generator` names a load generator in lib/generators.mjs (default 'wrk'); `unit` is
 * what its `rps` counts (default 'req/s'); `location` is added to Dito's one location; `minRepeats`
 * raises BENCH_REPEATS for a scenario whose runs spread widely.
 */
export const scenarios = [
  // Five runs too: the case that carries most of issue 9's targets, whose Node proxies' runs spread
  // ±15-25 % in the machine's noisy spells (2026-12-06: Dito 58-88 µs per request within one run).
  { id: 'get-1k', title: 'GET 1 KiB', method: 'GET', path: '/bytes/1024', connections: 64, minRepeats: 5 },
  { id: 'get-100k', title: 'GET 100 KiB', method: 'GET', path: '/bytes/102400', connections: 16 },
  // Large bodies spread ±10-30 % between runs on shared machines: five runs for a steadier median.
  { id: 'get-1m', title: 'GET 1 MiB', method: 'GET', path: '/bytes/1048576', connections: 8, minRepeats: 5 },
  {
    id: 'post-64k',
    title: 'POST 64 KiB',
    method: 'POST',
    path: '/upload',
    bodyBytes: 65536,
    connections: 32,
  },
  // 32 connections, each a closed loop of one 64-byte binary message and its echo from the upstream.
  // Five runs: Dito's three runs on 2026-12-07 07:52 were 32.0k, 39.2k and 45.6k messages/s.
  {
    id: 'ws-echo',
    title: 'WebSocket echo',
    generator: 'ws-echo',
    unit: 'msg/s',
    path: '/ws',
    messageBytes: 64,
    connections: 32,
    location: { enable_websocket: true },
    minRepeats: 5,
  },
  // Later, e.g. an HTTPS upstream: { ..., upstream: 'https' } once servers/upstream.mjs serves TLS.
];

/** Runs per case of `scenario`: BENCH_REPEATS when given, else the default raised to `minRepeats`. */
export function repeatsOf(scenario, settings) {
  return settings.repeatsGiven ? settings.repeats : Math.max(settings.repeats, scenario.minRepeats ?? 1);
}

/** Dito is started from its base config (lib/proxies.mjs) deep-merged with `config`, and its one location
 * with `location`. `during(ctx)` runs beside each measured run and returns a stop function. */
export const ditoVariants = [
  // Headline: streaming, like every peer (nginx streams through its buffers, Node peers pipe).
  { id: 'dito', location: { disable_response_buffering: true } },
  // Optional (BENCH_CASES=all or by name): Dito's defaults and features, priced against `dito`.
  { id: 'dito-buffered', optional: true, location: { disable_response_buffering: false } },
  {
    id: 'dito-metrics',
    optional: true,
    config: { metrics: { enabled: true } },
    location: { disable_response_buffering: true },
  },
  {
    id: 'dito-hot-reload',
    optional: true,
    config: { hot_reload: true },
    location: { disable_response_buffering: true },
    during: (ctx) => ctx.rewriteConfigEvery(200),
  },
  // Multi-process on this machine: Dito's `workers: 2`, GET 1 KiB only, its processes free to use every
  // core (`proxyCpus: 'all'`), so they share the cores with wrk and the upstream: reported beside the
  // one-worker row as what two workers give when the load generator competes for the same cores.
  // Scaling on a bigger machine: BENCH_WORKERS with BENCH_PROXY_CPUS (docs/benchmark.md).
  {
    id: 'dito-workers-2',
    config: { workers: 2 },
    location: { disable_response_buffering: true },
    onlyScenarios: ['get-1k'],
    proxyCpus: 'all',
  },
  // Later: middlewares ({ location: { middlewares: ['rate-limiter'], rate_limiting: {...} } }), cache, jwt.
  // Multi-process: BENCH_WORKERS sets Dito's `workers` (or a variant sets `config: { workers: 4 }`).
];

/** The peers, each started by lib/proxies.mjs according to its `kind`. */
export const peers = [
  { id: 'nginx', kind: 'nginx' },
  { id: 'node-http-proxy', kind: 'node', script: 'servers/node-http-proxy.mjs' },
  { id: 'fastify-http-proxy', kind: 'node', script: 'servers/fastify-http-proxy.mjs' },
  { id: 'bare-forwarder', kind: 'node', script: 'servers/bare-forwarder.mjs' },
  { id: 'direct', kind: 'direct' },
];

export const proxies = [...ditoVariants.map((variant) => ({ ...variant, kind: 'dito' })), ...peers];

function globToRegExp(glob) {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/**
 * The cases to run, grouped by scenario. `filter` is BENCH_CASES: empty = every non-optional case;
 * 'all' = every case; else comma-separated names matched against the scenario id, the proxy id or
 * 'scenario/proxy' (with * globs), e.g. 'get-1k', 'dito,nginx', 'get-*\/dito*'. A filter naming only
 * scenarios or only proxies leaves the other dimension at its default.
 */
export function planCases(filter) {
  const tokens = filter
    ? filter
        .split(',')
        .map((token) => token.trim())
        .filter(Boolean)
    : [];
  const all = tokens.includes('all');
  const patterns = tokens.filter((token) => token !== 'all').map(globToRegExp);
  const matchesAny = (name) => patterns.some((pattern) => pattern.test(name));
  const scenarioNamed = scenarios.some((s) => matchesAny(s.id));
  const proxyNamed = proxies.some((p) => matchesAny(p.id));
  const caseNamed = patterns.length > 0 && !scenarioNamed && !proxyNamed;

  const plan = [];
  for (const scenario of scenarios) {
    const cases = [];
    for (const proxy of proxies) {
      if (scenario.only && !scenario.only.includes(proxy.id)) continue;
      if (proxy.onlyScenarios && !proxy.onlyScenarios.includes(scenario.id)) continue;
      const id = `${scenario.id}/${proxy.id}`;
      let chosen;
      if (caseNamed) chosen = matchesAny(id);
      else {
        const scenarioOk = scenarioNamed ? matchesAny(scenario.id) : all || !scenario.optional;
        const proxyOk = proxyNamed ? matchesAny(proxy.id) : all || !proxy.optional;
        chosen = scenarioOk && proxyOk;
      }
      if (chosen) cases.push({ id, scenario, proxy });
    }
    if (cases.length > 0) plan.push({ scenario, cases });
  }
  return plan;
}
