import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildResponseHeaders,
  buildUpstreamHeaders,
  compileRequestHeaderPlan,
} from '../../src/proxy/headers.js';

const facts = { clientIp: '10.0.0.9', proto: 'https' as const, requestId: 'rid-1' };

function toMap(flat: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const key = flat[i]!.toLowerCase();
    map.set(key, [...(map.get(key) ?? []), flat[i + 1]!]);
  }
  return map;
}

test('upstream headers: hop-by-hop, Connection-named, Dito-owned and excluded names are replaced', () => {
  const plan = compileRequestHeaderPlan({
    host: 'backend:8080',
    additional: [['X-Env', 'prod']],
    excluded: ['Cookie'],
  });
  const out = toMap(
    buildUpstreamHeaders(
      [
        'Host',
        'public.example',
        'Connection',
        'close, X-Forwarded-Host, x-custom',
        'X-Custom',
        'gone',
        'X-Forwarded-For',
        '1.1.1.1',
        'x-forwarded-for',
        '2.2.2.2',
        'X-Forwarded-Host',
        'evil',
        'Cookie',
        'a=1',
        'X-Env',
        'client',
        'Expect',
        '100-continue',
        'Transfer-Encoding',
        'chunked',
        'Accept',
        '*/*',
      ],
      plan,
      facts,
    ),
  );
  assert.deepEqual(out.get('host'), ['backend:8080']);
  assert.deepEqual(out.get('x-forwarded-for'), ['1.1.1.1, 2.2.2.2, 10.0.0.9']);
  assert.deepEqual(out.get('x-forwarded-proto'), ['https']);
  assert.deepEqual(out.get('x-forwarded-host'), ['public.example']);
  assert.deepEqual(out.get('x-real-ip'), ['10.0.0.9']);
  assert.deepEqual(out.get('x-request-id'), ['rid-1']);
  assert.deepEqual(out.get('x-env'), ['prod']);
  assert.deepEqual(out.get('accept'), ['*/*']);
  for (const gone of ['connection', 'x-custom', 'cookie', 'expect', 'transfer-encoding']) {
    assert.equal(out.get(gone), undefined, gone);
  }
});

test('upstream headers: a Connection-named X-Forwarded-For is dropped, not appended to', () => {
  const plan = compileRequestHeaderPlan({
    host: 'b',
    additional: [],
    excluded: [],
  });
  const out = toMap(
    buildUpstreamHeaders(
      ['Connection', 'X-Forwarded-For', 'X-Forwarded-For', '6.6.6.6', 'Accept-Encoding', 'gzip'],
      plan,
      facts,
    ),
  );
  assert.deepEqual(out.get('x-forwarded-for'), ['10.0.0.9']);
  // disable_compression never touches the client's own Accept-Encoding (as Go's transport).
  assert.deepEqual(out.get('accept-encoding'), ['gzip']);
});

test('upstream headers: HTTP/2 pseudo-headers are not forwarded; :authority becomes X-Forwarded-Host', () => {
  const plan = compileRequestHeaderPlan({ host: 'b', additional: [], excluded: [] });
  const raw = [
    ':method',
    'GET',
    ':path',
    '/x',
    ':scheme',
    'https',
    ':authority',
    'public.example',
    'accept',
    '*/*',
  ];
  const out = buildUpstreamHeaders(raw, plan, facts);
  assert.ok(
    out.every((value, i) => i % 2 === 1 || !value.startsWith(':')),
    out.join(' '),
  );
  const map = toMap(out);
  assert.deepEqual(map.get('x-forwarded-host'), ['public.example']);
  assert.deepEqual(map.get('host'), ['b']);
  assert.deepEqual(map.get('accept'), ['*/*']);
});

test('upgrade plans keep Upgrade and Connection', () => {
  const plan = compileRequestHeaderPlan({
    host: 'b',
    additional: [],
    excluded: [],
    forUpgrade: true,
  });
  const out = toMap(buildUpstreamHeaders(['Connection', 'Upgrade', 'Upgrade', 'websocket'], plan, facts));
  assert.deepEqual(out.get('upgrade'), ['websocket']);
  assert.deepEqual(out.get('connection'), ['Upgrade']);
});

test('response headers: hop-by-hop and Connection-named dropped, request id set', () => {
  const raw = [
    'Connection',
    'keep-alive, X-Hop',
    'X-Hop',
    'secret',
    'Keep-Alive',
    'timeout=5',
    'Transfer-Encoding',
    'chunked',
    'Content-Length',
    '12',
    'X-Request-ID',
    'theirs',
    'Set-Cookie',
    'a=1',
    'Set-Cookie',
    'b=2',
  ].map((s) => Buffer.from(s, 'latin1'));
  const streamed = buildResponseHeaders(raw, 'ours', false);
  const map = toMap(streamed.headers);
  assert.equal(streamed.contentLength, 12);
  assert.deepEqual(map.get('content-length'), ['12']);
  assert.deepEqual(map.get('set-cookie'), ['a=1', 'b=2']);
  assert.deepEqual(map.get('x-request-id'), ['ours']);
  for (const gone of ['connection', 'x-hop', 'keep-alive', 'transfer-encoding'])
    assert.equal(map.get(gone), undefined, gone);
  const buffered = toMap(buildResponseHeaders(raw, 'ours', true).headers);
  assert.equal(buffered.get('content-length'), undefined);
});

test('response header names are matched in any case, on their bytes', () => {
  const response = buildResponseHeaders(
    [
      'CONNECTION',
      'X-HOP',
      'x-hop',
      'secret',
      'kEEP-aLIVE',
      'timeout=5',
      'CoNtEnT-LeNgTh',
      '7',
      'X-REQUEST-ID',
      'theirs',
      'Content-Lengths',
      'kept',
      'Xonnection',
      'kept too',
    ].map((s) => Buffer.from(s, 'latin1')),
    'ours',
    false,
  );
  assert.equal(response.contentLength, 7);
  assert.deepEqual(response.headers, [
    'CoNtEnT-LeNgTh',
    '7',
    'Content-Lengths',
    'kept',
    'Xonnection',
    'kept too',
    'x-request-id',
    'ours',
  ]);
});

test('a Connection header naming only hop-by-hop headers removes nothing else, either way', () => {
  const response = buildResponseHeaders(
    [
      'Connection',
      ' Keep-Alive ,, close',
      'Keep-Alive',
      'timeout=5',
      'Content-Type',
      'text/plain',
      'Date',
      'x',
    ].map((s) => Buffer.from(s, 'latin1')),
    'ours',
    false,
  );
  assert.deepEqual(response.headers, ['Content-Type', 'text/plain', 'Date', 'x', 'x-request-id', 'ours']);

  const plan = compileRequestHeaderPlan({ host: 'backend', additional: [], excluded: [] });
  const request = toMap(
    buildUpstreamHeaders(
      ['Connection', 'keep-alive, Upgrade', 'Upgrade', 'websocket', 'Accept', '*/*'],
      plan,
      facts,
    ),
  );
  assert.deepEqual(request.get('accept'), ['*/*']);
  assert.equal(request.get('upgrade'), undefined);
  assert.equal(request.get('connection'), undefined);
});
