// Header rewriting in both directions, built for one pass over the raw header list.
// Rule order matters for security: the client's hop-by-hop headers and every name its
// `Connection` header lists are dropped first, then Dito adds its own, so a client can never
// delete X-Forwarded-* or X-Request-ID by naming them in `Connection`.

/** Hop-by-hop headers (RFC 9110 7.6.1, plus the RFC 2616 proxy-auth pair and Proxy-Connection). */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const ALIASED_NAME = /[_.]/;

/**
 * Names `additional_headers` cannot set: hop-by-hop and framing headers belong to the connection
 * Dito opens, not to the operator (undici refuses most of them, failing every request with 502,
 * and a configured Content-Length would contradict the body). Go's ReverseProxy drops them too.
 */
export const NOT_CONFIGURABLE = new Set([...HOP_BY_HOP, 'content-length', 'expect']);

/** Headers whose value Dito sets itself on the upstream request. */
const DITO_OWNED = [
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  'x-request-id',
];

/** What a location does to request headers, computed once at load. */
export interface RequestHeaderPlan {
  /** Lower-cased names never copied from the client. */
  readonly drop: ReadonlySet<string>;
  /** `additional_headers` as a flat [name, value, ...] list. */
  readonly additional: readonly string[];
  /** Value of the upstream `Host` header. */
  readonly host: string;
  /** WebSocket handshake: `Upgrade` passes and `Connection: Upgrade` is sent. */
  readonly upgrade: boolean;
  /** Dito-owned headers the operator set in `additional_headers`: the operator's value wins. */
  readonly overridden: ReadonlySet<string>;
  /** Drop client headers whose names contain `_` or `.` (backends may fold them onto real ones). */
  readonly dropAliased: boolean;
  /** `additional_headers` names never sent (NOT_CONFIGURABLE), for a warning at load. */
  readonly ignored: readonly string[];
}

export function compileRequestHeaderPlan(options: {
  host: string;
  additional: ReadonlyArray<readonly [string, string]>;
  excluded: readonly string[];
  /** Keep `Upgrade`/`Connection: upgrade` (WebSocket handshakes). */
  forUpgrade?: boolean;
  /** Forward header names with `_` or `.` (off by default, like nginx's underscores_in_headers). */
  allowUnderscores?: boolean;
}): RequestHeaderPlan {
  const drop = new Set<string>(HOP_BY_HOP);
  if (options.forUpgrade) drop.delete('upgrade');
  for (const name of DITO_OWNED) drop.add(name);
  // Dito answers `Expect: 100-continue` itself; undici refuses to send it anyway.
  drop.add('expect');
  for (const name of options.excluded) drop.add(name.toLowerCase());
  const additional: string[] = [];
  const overridden = new Set<string>();
  const ignored: string[] = [];
  for (const [name, value] of options.additional) {
    const lower = name.toLowerCase();
    if (NOT_CONFIGURABLE.has(lower)) {
      ignored.push(name);
      continue;
    }
    drop.add(lower);
    if (DITO_OWNED.includes(lower)) overridden.add(lower);
    additional.push(name, value);
  }
  return {
    drop,
    additional,
    host: options.host,
    upgrade: options.forUpgrade === true,
    overridden,
    dropAliased: options.allowUnderscores !== true,
    ignored,
  };
}

/**
 * Lower-cased tokens of every `Connection` header in a raw header list that name a header not
 * already dropped as hop-by-hop; undefined when there are none. The usual `Connection: keep-alive`
 * (or `close`) names nothing more, so most requests build no set (see `namesBeyondHopByHop`).
 */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      tokens = namesBeyondHopByHop(raw[i + 1]!, tokens);
    }
  }
  return tokens;
}

/**
 * Adds the tokens of a `Connection` value that are not hop-by-hop names (those are dropped anyway) to
 * `names`, created only when one is found. Measured on relaying a typical upstream response (five
 * headers, `Connection: keep-alive`): 1.6 → 0.9 µs, no set and no second pass over the list.
 */
function namesBeyondHopByHop(value: string, names: Set<string> | undefined): Set<string> | undefined {
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && !HOP_BY_HOP.has(t)) (names ??= new Set()).add(t);
  }
  return names;
}

export interface ForwardingFacts {
  clientIp: string;
  proto: 'http' | 'https';
  requestId: string;
}

/**
 * The upstream request's headers as a flat [name, value, ...] list, from the client's raw
 * headers (as received, or as a middleware left them). HTTP/2 clients' pseudo-headers
 * (`:method`, `:path`, `:scheme`, `:authority`) are never forwarded; `:authority` stands in for
 * `Host` as the X-Forwarded-Host value (HTTP/2 clients usually send no `Host`).
 */
export function buildUpstreamHeaders(
  raw: readonly string[],
  plan: RequestHeaderPlan,
  facts: ForwardingFacts,
): string[] {
  const named = connectionTokens(raw);
  const overridden = plan.overridden;
  const out: string[] = overridden.has('host') ? [] : ['host', plan.host];
  let forwardedFor: string | undefined;
  let clientHost: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* ':' */) {
      if (name === ':authority') clientHost ??= raw[i + 1]!;
      continue;
    }
    const lower = name.toLowerCase();
    // Host is always replaced, and it is the source of X-Forwarded-Host even when the client names
    // it in `Connection` (else `Connection: host` would delete a header Dito adds).
    if (lower === 'host') {
      clientHost ??= raw[i + 1]!;
      continue;
    }
    // Connection-named headers go first, so a named X-Forwarded-For is not even appended to.
    // (`named` holds no hop-by-hop names: `Connection: Upgrade` leaves Upgrade to the plan, which
    // keeps it for WebSocket handshakes and drops it otherwise.)
    if (named?.has(lower)) continue;
    // `X_Forwarded_For` and `X.Real.IP` survive as distinct names here, but CGI/WSGI/PHP backends
    // fold them onto the real headers (Traefik CVE-2026-88011): never forward such aliases.
    if (plan.dropAliased && ALIASED_NAME.test(name)) continue;
    if (plan.drop.has(lower)) {
      if (lower === 'x-forwarded-for') {
        forwardedFor = forwardedFor === undefined ? raw[i + 1]! : `${forwardedFor}, ${raw[i + 1]!}`;
      }
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (overridden.size === 0) {
    out.push(
      'x-forwarded-for',
      forwardedFor === undefined ? facts.clientIp : `${forwardedFor}, ${facts.clientIp}`,
      'x-forwarded-proto',
      facts.proto,
      'x-real-ip',
      facts.clientIp,
      'x-request-id',
      facts.requestId,
    );
    if (clientHost !== undefined) out.push('x-forwarded-host', clientHost);
  } else {
    pushOwned(
      out,
      overridden,
      'x-forwarded-for',
      forwardedFor === undefined ? facts.clientIp : `${forwardedFor}, ${facts.clientIp}`,
    );
    pushOwned(out, overridden, 'x-forwarded-proto', facts.proto);
    pushOwned(out, overridden, 'x-real-ip', facts.clientIp);
    pushOwned(out, overridden, 'x-request-id', facts.requestId);
    if (clientHost !== undefined) pushOwned(out, overridden, 'x-forwarded-host', clientHost);
  }
  if (plan.upgrade) out.push('connection', 'Upgrade');
  for (let i = 0; i < plan.additional.length; i++) out.push(plan.additional[i]!);
  return out;
}

function pushOwned(out: string[], overridden: ReadonlySet<string>, name: string, value: string): void {
  if (!overridden.has(name)) out.push(name, value);
}

/** Flattens a Node `IncomingHttpHeaders` object (as a middleware may have edited it) to raw form. */
export function flattenHeaderObject(headers: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  return out;
}

/** What relaying does with an upstream response header, decided by its name. */
const RELAY = 0;
const DROP = 1;
const CONNECTION = 2;
const CONTENT_LENGTH = 3;

/**
 * The response header names Dito drops or reads, by length, lower-cased as bytes: a name is matched
 * on its bytes before any string is made of it, and most names (`Date`, `ETag`, `Cache-Control`)
 * have no candidate of their length at all.
 */
const RESPONSE_NAME_RULES = (() => {
  const byLength: Array<Array<{ name: Buffer; rule: number }> | undefined> = [];
  const add = (name: string, rule: number) =>
    (byLength[name.length] ??= []).push({ name: Buffer.from(name, 'latin1'), rule });
  add('connection', CONNECTION);
  add('content-length', CONTENT_LENGTH);
  add('x-request-id', DROP);
  for (const name of HOP_BY_HOP) if (name !== 'connection') add(name, DROP);
  return byLength;
})();

/** Whether `bytes` spell `lower` (lower-case ASCII), with the letters of `bytes` in either case. */
function equalsIgnoringCase(bytes: Buffer, lower: Buffer): boolean {
  for (let j = 0; j < lower.length; j++) {
    const b = bytes[j]!;
    if ((b >= 65 && b <= 90 ? b | 0x20 : b) !== lower[j]) return false;
  }
  return true;
}

function responseNameRule(name: Buffer): number {
  const candidates = RESPONSE_NAME_RULES[name.length];
  if (candidates !== undefined) {
    for (const candidate of candidates) if (equalsIgnoringCase(name, candidate.name)) return candidate.rule;
  }
  return RELAY;
}

/** `Connection` values that name no header beyond the hop-by-hop ones (nearly every response's). */
const PLAIN_CONNECTION_VALUES = ['keep-alive', 'close'].map((value) => Buffer.from(value, 'latin1'));

function isPlainConnectionValue(value: Buffer): boolean {
  for (const plain of PLAIN_CONNECTION_VALUES)
    if (value.length === plain.length && equalsIgnoringCase(value, plain)) return true;
  return false;
}

/**
 * The client response's headers from the upstream's raw ones (latin1 Buffers from undici),
 * appended to `out`: hop-by-hop and Connection-named headers dropped, `X-Request-ID` replaced by
 * Dito's, and `Content-Length` dropped when `dropContentLength` (the buffered path sets its own).
 * Returns the upstream's declared content length (-1 when absent). The hot path's form: no
 * result object per response, and no string made of a dropped header: names are matched on their
 * bytes. A typical upstream response's four (Content-Type, Content-Length, Connection: keep-alive,
 * Keep-Alive) took 1.0 µs with every name made a string and lower-cased first, 0.46 µs this way.
 */
export function relayResponseHeaders(
  raw: readonly Buffer[],
  requestId: string,
  dropContentLength: boolean,
  out: string[],
): number {
  let named: Set<string> | undefined;
  let contentLength = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (responseNameRule(name)) {
      case DROP:
        continue;
      case CONNECTION:
        if (!isPlainConnectionValue(value)) named = namesBeyondHopByHop(value.toString('latin1'), named);
        continue;
      case CONTENT_LENGTH: {
        const length = value.toString('latin1');
        contentLength = Number(length);
        if (!dropContentLength) out.push(name.toString('latin1'), length);
        continue;
      }
    }
    out.push(name.toString('latin1'), value.toString('latin1'));
  }
  if (named !== undefined) {
    let w = 0;
    for (let r = 0; r < out.length; r += 2) {
      if (named.has(out[r]!.toLowerCase())) continue;
      out[w++] = out[r]!;
      out[w++] = out[r + 1]!;
    }
    out.length = w;
  }
  out.push('x-request-id', requestId);
  return contentLength;
}

/** `relayResponseHeaders` returning a new list and the content length together. */
export function buildResponseHeaders(
  raw: readonly Buffer[],
  requestId: string,
  dropContentLength: boolean,
): { headers: string[]; contentLength: number } {
  const headers: string[] = [];
  const contentLength = relayResponseHeaders(raw, requestId, dropContentLength, headers);
  return { headers, contentLength };
}
