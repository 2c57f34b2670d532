// Load-time warnings for `transport.http` keys that Node and undici cannot honour exactly as Go's
// http.Transport does. Policy (docs/transport.md): a key is named when its effective value differs
// from the default, once where it is set (globally, or on the location that sets its own value).
import type { HttpTransportConfig, LoadedConfig } from '../config/types.js';

export interface TransportWarning {
  /** `file:line:col` of the key. */
  at: string;
  /** `transport.http.max_idle_conns` or `locations[2].transport.http.max_idle_conns`. */
  key: string;
  /** The location concerned when the key is inherited from the global block. */
  location?: number;
  message: string;
}

interface Rule {
  key: string;
  /** True when this transport's value is one Node cannot honour exactly. */
  applies(t: HttpTransportConfig, target: URL | undefined): boolean;
  message: string;
  /** The effective value compared to find where it was set. */
  value(t: HttpTransportConfig): unknown;
}

const RULES: Rule[] = [
  {
    key: 'max_idle_conns',
    value: (t) => t.maxIdleConns,
    applies: (t) => t.maxIdleConns !== 1000,
    message:
      'no undici equivalent: idle connections are not capped across hosts; each upstream keeps up to max_conns_per_host connections, closed after idle_conn_timeout',
  },
  {
    key: 'max_idle_conns_per_host',
    value: (t) => t.maxIdleConnsPerHost,
    applies: (t) => t.maxIdleConnsPerHost !== 200,
    message:
      'no undici equivalent: idle connections per host are bounded only by max_conns_per_host and closed after idle_conn_timeout',
  },
  {
    key: 'expect_continue_timeout',
    value: (t) => t.expectContinueTimeoutMs,
    applies: (t) => t.expectContinueTimeoutMs !== 1000,
    message:
      'has no effect: Dito answers "Expect: 100-continue" itself once routing and middlewares pass, and sends the body upstream without waiting',
  },
  {
    key: 'keep_alive',
    value: (t) => t.keepAliveMs,
    applies: (t) => t.keepAliveMs !== 30_000,
    message:
      'sets the idle time before the first TCP keep-alive probe; the probe interval and count are the operating system defaults (Go sets the interval too)',
  },
  {
    key: 'force_http2',
    value: (t) => t.forceHttp2,
    applies: (t, target) =>
      t.forceHttp2 && target !== undefined && target.protocol !== 'https:' && target.protocol !== 'wss:',
    message: 'ignored for this plain-HTTP target: HTTP/2 is negotiated by ALPN over TLS only (no h2c)',
  },
];

/** Every warning the config deserves, in file order of locations, the global block first. */
export function transportWarnings(loaded: LoadedConfig): TransportWarning[] {
  const { config } = loaded;
  const warnings: TransportWarning[] = [];
  const global = config.transport;
  for (const rule of RULES) {
    // force_http2 on the global block is judged per location (it depends on the target).
    if (rule.key !== 'force_http2' && rule.applies(global, undefined)) {
      const path = ['transport', 'http', rule.key];
      warnings.push({ at: loaded.locate(path), key: path.join('.'), message: rule.message });
    }
  }
  for (const location of config.locations) {
    const own = location.transport;
    for (const rule of RULES) {
      if (!rule.applies(own, location.targetUrl ?? location.targets[0]?.url)) continue;
      const setHere = rule.value(own) !== rule.value(global);
      if (!setHere && rule.key !== 'force_http2') continue; // already named on the global block
      const path = setHere
        ? ['locations', location.index, 'transport', 'http', rule.key]
        : ['transport', 'http', rule.key];
      const key = setHere ? `locations[${location.index}].transport.http.${rule.key}` : path.join('.');
      const warning: TransportWarning = { at: loaded.locate(path), key, message: rule.message };
      if (!setHere) warning.location = location.index;
      warnings.push(warning);
    }
  }
  return warnings;
}
