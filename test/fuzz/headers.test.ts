// Property fuzzer over header handling (src/proxy/headers.ts), both directions: whatever headers a
// client or upstream sends, and whatever a location configures, the hop-by-hop, Connection-named,
// Dito-owned and aliased-name rules hold. Time-boxed (FUZZ_SECONDS for `make fuzz`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  buildResponseHeaders,
  buildUpstreamHeaders,
  compileRequestHeaderPlan,
  HOP_BY_HOP,
  NOT_CONFIGURABLE,
} from '../../src/proxy/headers.js';
import { fuzzRuns, fuzzTimeMs } from '../helpers/fuzz.js';

const OWNED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'x-request-id'];

/** Names that matter to the rules, plus ordinary ones; the case is randomised below. */
const INTERESTING_NAMES = [
  ...HOP_BY_HOP,
  ...OWNED,
  'host',
  'expect',
  'cookie',
  'authorization',
  'accept-encoding',
  'content-length',
  'x_forwarded_for',
  'x.real.ip',
  'x-request_id',
  'x-custom',
  'x-other',
  'accept',
];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const randomCase = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

const headerName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...INTERESTING_NAMES).chain(randomCase) },
  { weight: 1, arbitrary: fc.stringMatching(TOKEN, { maxLength: 12 }) },
);

/** `Connection` values: lists of names (Dito's own among them), odd spacing and empty items. */
const connectionValue = fc
  .array(fc.oneof(headerName, fc.constantFrom('close', 'keep-alive', 'Upgrade', '')), { maxLength: 6 })
  .chain((names) =>
    fc
      .array(fc.constantFrom(',', ', ', ' , ', ',,'), { minLength: names.length, maxLength: names.length })
      .map((separators) => names.map((n, i) => `${n}${i < names.length - 1 ? separators[i] : ''}`).join('')),
  );

const headerValue = fc.oneof(
  fc.constantFrom('', '1.2.3.4', '10.0.0.1, 10.0.0.2', 'close', 'chunked', 'upgrade', 'h2c', 'trailers'),
  fc.string({ maxLength: 16 }).map((s) => s.replace(/[\r\n\0]/g, ' ')),
);

const rawHeaders = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.tuple(headerName, headerValue) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Connection', 'connection'), connectionValue) },
      // HTTP/2 clients' pseudo-headers (HTTPS listener).
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom(':authority', ':path', ':method', ':scheme'), headerValue),
      },
    ),
    { maxLength: 14 },
  )
  .map((pairs) => pairs.flat());

const planOptions = fc.record({
  host: fc.constantFrom('backend:8080', 'b.example'),
  additional: fc.uniqueArray(fc.tuple(headerName, fc.stringMatching(/^[ -~]{0,8}$/)), {
    maxLength: 4,
    selector: ([name]) => name.toLowerCase(),
  }),
  excluded: fc.array(headerName, { maxLength: 3 }),
  forUpgrade: fc.boolean(),
  allowUnderscores: fc.boolean(),
});

const facts = fc.record({
  clientIp: fc.constantFrom('127.0.0.1', '203.0.113.9', '::1'),
  proto: fc.constantFrom('http' as const, 'https' as const),
  requestId: fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/),
});

function valuesOf(flat: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (flat[i]!.toLowerCase() === name) out.push(flat[i + 1]!);
  return out;
}

function connectionTokens(raw: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (const value of valuesOf(raw, 'connection')) {
    for (const t of value.split(',')) if (t.trim() !== '') tokens.add(t.trim().toLowerCase());
  }
  return tokens;
}

const budget = { interruptAfterTimeLimit: fuzzTimeMs(2000), numRuns: fuzzRuns(50_000) };

test('fuzz: upstream request headers keep every forwarding rule (time-boxed)', () => {
  fc.assert(
    fc.property(rawHeaders, planOptions, facts, (raw, options, fact) => {
      const plan = compileRequestHeaderPlan(options);
      const out = buildUpstreamHeaders(raw, plan, fact);
      assert.equal(out.length % 2, 0);
      const settable = options.additional.filter(([name]) => !NOT_CONFIGURABLE.has(name.toLowerCase()));
      const additional = new Map(settable.map(([name, value]) => [name.toLowerCase(), value]));
      // Hop-by-hop and framing names in additional_headers are reported and never sent.
      assert.deepEqual(
        plan.ignored,
        options.additional.filter(([name]) => NOT_CONFIGURABLE.has(name.toLowerCase())).map(([name]) => name),
      );
      const excluded = new Set(options.excluded.map((n) => n.toLowerCase()));
      const named = connectionTokens(raw);
      const names = out.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());

      // Every additional header exactly once, with the configured value.
      for (const [name, value] of additional) assert.deepEqual(valuesOf(out, name), [value], name);

      // Dito's own headers: exactly once each (the operator's value when configured).
      const expected: Record<string, string | undefined> = {
        host: options.host,
        'x-forwarded-proto': fact.proto,
        'x-real-ip': fact.clientIp,
        'x-request-id': fact.requestId,
      };
      for (const [name, value] of Object.entries(expected)) {
        assert.deepEqual(valuesOf(out, name), [additional.get(name) ?? value], name);
      }
      const forwardedFor = valuesOf(out, 'x-forwarded-for');
      assert.equal(forwardedFor.length, 1, 'one X-Forwarded-For');
      if (!additional.has('x-forwarded-for')) {
        assert.ok(
          forwardedFor[0] === fact.clientIp || forwardedFor[0]!.endsWith(`, ${fact.clientIp}`),
          `X-Forwarded-For ends with the peer: ${forwardedFor[0]}`,
        );
      }
      // X-Forwarded-Host: the client's Host whenever it sent one, even one it named in Connection.
      // (HTTP/2: `:authority` stands in for Host; the first of either counts.)
      let clientHost: string | undefined;
      for (let i = 0; i < raw.length && clientHost === undefined; i += 2) {
        if (raw[i] === ':authority' || raw[i]!.toLowerCase() === 'host') clientHost = raw[i + 1];
      }
      const forwardedHost = valuesOf(out, 'x-forwarded-host');
      if (additional.has('x-forwarded-host')) {
        assert.deepEqual(forwardedHost, [additional.get('x-forwarded-host')]);
      } else {
        assert.deepEqual(forwardedHost, clientHost === undefined ? [] : [clientHost]);
      }

      for (const name of names) {
        if (additional.has(name) || name === 'host' || OWNED.includes(name)) continue;
        if (plan.upgrade && (name === 'upgrade' || name === 'connection')) continue;
        assert.ok(!HOP_BY_HOP.has(name), `hop-by-hop ${name} forwarded`);
        assert.ok(!named.has(name), `Connection-named ${name} forwarded`);
        assert.ok(!excluded.has(name), `excluded ${name} forwarded`);
        assert.notEqual(name, 'expect');
        assert.ok(!name.startsWith(':'), `pseudo-header ${name} forwarded`);
        if (!options.allowUnderscores) assert.ok(!/[_.]/.test(name), `aliased name ${name} forwarded`);
      }
      if (plan.upgrade) assert.deepEqual(valuesOf(out, 'connection'), ['Upgrade']);

      // Whatever no rule touches passes through unchanged and in order.
      const untouched = (name: string) =>
        !HOP_BY_HOP.has(name) &&
        !named.has(name) &&
        !excluded.has(name) &&
        !additional.has(name) &&
        !OWNED.includes(name) &&
        name !== 'host' &&
        name !== 'expect' &&
        !name.startsWith(':') &&
        (options.allowUnderscores || !/[_.]/.test(name));
      const kept: string[] = [];
      for (let i = 0; i < raw.length; i += 2)
        if (untouched(raw[i]!.toLowerCase())) kept.push(raw[i]!, raw[i + 1]!);
      const passed: string[] = [];
      for (let i = 0; i < out.length; i += 2)
        if (untouched(out[i]!.toLowerCase())) passed.push(out[i]!, out[i + 1]!);
      assert.deepEqual(passed, kept);
    }),
    budget,
  );
});

const upstreamRaw = rawHeaders.map((flat) => flat.map((s) => Buffer.from(s, 'latin1')));

test('fuzz: client response headers drop hop-by-hop and Connection-named ones (time-boxed)', () => {
  fc.assert(
    fc.property(
      upstreamRaw,
      fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
      fc.boolean(),
      (raw, requestId, dropLength) => {
        const { headers, contentLength } = buildResponseHeaders(raw, requestId, dropLength);
        const flat = raw.map((b) => b.toString('latin1'));
        const named = connectionTokens(flat);
        assert.deepEqual(valuesOf(headers, 'x-request-id'), [requestId]);
        const lengths = valuesOf(flat, 'content-length');
        assert.equal(contentLength, lengths.length === 0 ? -1 : Number(lengths.at(-1)));
        for (let i = 0; i < headers.length; i += 2) {
          const name = headers[i]!.toLowerCase();
          assert.ok(!HOP_BY_HOP.has(name), `hop-by-hop ${name} relayed`);
          if (name !== 'x-request-id') assert.ok(!named.has(name), `Connection-named ${name} relayed`);
          if (dropLength) assert.notEqual(name, 'content-length');
        }
        const untouched = (name: string) =>
          !HOP_BY_HOP.has(name) &&
          !named.has(name) &&
          name !== 'x-request-id' &&
          !(dropLength && name === 'content-length');
        const kept: string[] = [];
        for (let i = 0; i < flat.length; i += 2)
          if (untouched(flat[i]!.toLowerCase())) kept.push(flat[i]!, flat[i + 1]!);
        assert.deepEqual(
          headers
            .slice(0, -2)
            .filter((_, i, all) => untouched((i % 2 === 0 ? all[i] : all[i - 1])!.toLowerCase())),
          kept,
        );
      },
    ),
    budget,
  );
});

// Regressions found by the fuzzer above.

test('regression: `Connection: host` deleted X-Forwarded-Host', () => {
  const plan = compileRequestHeaderPlan({
    host: 'backend:8080',
    additional: [],
    excluded: [],
  });
  const out = buildUpstreamHeaders(['Host', 'public.example', 'Connection', 'Host'], plan, {
    clientIp: '10.0.0.1',
    proto: 'http',
    requestId: 'r',
  });
  assert.deepEqual(valuesOf(out, 'x-forwarded-host'), ['public.example']);
  assert.deepEqual(valuesOf(out, 'host'), ['backend:8080']);
});

test('regression: hop-by-hop or framing names in additional_headers failed every request (undici refuses them)', () => {
  const plan = compileRequestHeaderPlan({
    host: 'backend:8080',
    additional: [
      ['Transfer-Encoding', 'chunked'],
      ['Upgrade', 'h2c'],
      ['Keep-Alive', 'timeout=1'],
      ['Content-Length', '0'],
      ['X-Kept', 'yes'],
    ],
    excluded: [],
  });
  assert.deepEqual(plan.ignored, ['Transfer-Encoding', 'Upgrade', 'Keep-Alive', 'Content-Length']);
  const out = buildUpstreamHeaders(['Content-Length', '5'], plan, {
    clientIp: '10.0.0.1',
    proto: 'http',
    requestId: 'r',
  });
  for (const name of ['transfer-encoding', 'upgrade', 'keep-alive'])
    assert.deepEqual(valuesOf(out, name), []);
  assert.deepEqual(valuesOf(out, 'content-length'), ['5'], "the client's own framing stays");
  assert.deepEqual(valuesOf(out, 'x-kept'), ['yes']);
});
