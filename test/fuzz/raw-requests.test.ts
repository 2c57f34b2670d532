// Differential raw-request fuzzer (anchors L3): random and mutated HTTP/1.1 request bytes go to a
// running Dito and, byte for byte, to a reference Node HTTP server in this process. Dito must never
// crash, must answer each input with valid responses (4xx/5xx JSON for its own errors) or a close,
// and its upstream must never see more requests, or other methods, than the reference parsed from
// the same bytes: a request the upstream reads that the client's bytes did not hold is smuggled.
// Each input comes from its own loopback address (127.x.y.z) so the upstream can attribute
// requests by Dito's X-Real-IP. Time-boxed: a few seconds in `make test`, FUZZ_SECONDS in `make fuzz`.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { fuzzRuns, fuzzSeed, fuzzTimeMs } from '../helpers/fuzz.js';
import { request, sleep, waitFor } from '../helpers/net.js';

// ---- what the fuzzer sends ----------------------------------------------------------------------

const control = fc.constantFrom('\0', '\r', '\n', '\t', '\x7f', '\xff', ' ');
const noise = fc.array(fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 3 }) }, control), {
  maxLength: 4,
});
const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH') },
  { weight: 1, arbitrary: fc.constantFrom('TRACE', 'CONNECT', 'get', 'G ET', 'PRI', '', 'GET\0') },
);
const target = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '/',
      '/a',
      '/%61dmin',
      '//x',
      '/x/../y',
      '/../z',
      '/%2e%2e/z',
      '/a%2Fb',
      '*',
      'http://h/x',
      '/a?b=c',
      '/a#f',
      '/a b',
      '/%zz',
      'x',
      '/%00',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map((s) => `/${s}`) },
);
const version = fc.oneof(
  { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
  { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', 'HTTP/1.10', 'http/1.1', '') },
);
const eol = fc.oneof(
  { weight: 12, arbitrary: fc.constant('\r\n') },
  { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\r\n', ' \r\n') },
);
const headerName = fc.constantFrom(
  'Host',
  'Content-Length',
  'Transfer-Encoding',
  'Connection',
  'Expect',
  'Upgrade',
  'X-Forwarded-For',
  'X_Forwarded_For',
  'X-Real-IP',
  'Content-Length ',
  ' Host',
  'Trailer',
  'TE',
  'Keep-Alive',
  'X-A',
);
const separator = fc.oneof(
  { weight: 8, arbitrary: fc.constant(': ') },
  { weight: 1, arbitrary: fc.constantFrom(':', ' : ', ':\t', '') },
);
const headerValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '0',
      '5',
      '10',
      '+5',
      '0x5',
      '-1',
      '99999999999999999999',
      'chunked',
      'gzip, chunked',
      'chunked, gzip',
      'xchunked',
      ' chunked',
      'chunked ',
      'identity',
      'close',
      'keep-alive',
      'Upgrade',
      'upgrade, close',
      '100-continue',
      'websocket',
      'h2c',
      '127.0.0.1',
    ),
  },
  { weight: 1, arbitrary: noise.map((parts) => parts.join('')) },
);
const header = fc.oneof(
  // Mostly well-formed lines with fitting values, so that many inputs reach the proxy.
  {
    weight: 6,
    arbitrary: fc.oneof(
      fc.constantFrom('0', '5', '10', '22', '40').map((v) => `Content-Length: ${v}\r\n`),
      fc.constantFrom('chunked', 'gzip, chunked', 'identity').map((v) => `Transfer-Encoding: ${v}\r\n`),
      fc.constantFrom('close', 'keep-alive', 'X-A', 'Upgrade').map((v) => `Connection: ${v}\r\n`),
      fc
        .constantFrom('100-continue', 'websocket', 'h2c')
        .map((v) => `${v === '100-continue' ? 'Expect' : 'Upgrade'}: ${v}\r\n`),
      fc.string({ maxLength: 8 }).map((v) => `X-A: ${v.trim()}\r\n`),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(headerName, separator, headerValue, eol).map(([n, s, v, e]) => `${n}${s}${v}${e}`),
  },
);
const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'hello',
      '0\r\n\r\n',
      '5\r\nhello\r\n0\r\n\r\n',
      '5;ext=1\r\nhello\r\n0\r\n\r\n',
      '1\r\nx\r\n',
      'ffffffffffffffffff\r\n',
      '0\r\nX-Trailer: t\r\n\r\n',
      'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
      '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
      '5\r\nhello\r\n0\r\n\r\nPOST /smuggled HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc',
    ),
  },
  { weight: 1, arbitrary: noise.map((parts) => parts.join('')) },
);
const oneRequest = fc
  .tuple(
    method,
    target,
    version,
    eol,
    fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    fc.array(header, { maxLength: 4 }),
    eol,
    body,
  )
  .map(
    ([m, t, v, e1, host, headers, e2, b]) =>
      `${m} ${t} ${v}${e1}${host ? 'Host: x\r\n' : ''}${headers.join('')}${e2}${b}`,
  );
const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('insert', 'delete', 'replace'),
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(13, 10, 0, 32, 58)),
});
const input = fc
  .tuple(
    fc.array(oneRequest, { minLength: 1, maxLength: 3 }),
    fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.array(mutation, { maxLength: 3 }) },
    ),
  )
  .map(([requests, mutations]) => {
    const bytes = [...Buffer.from(requests.join(''), 'latin1')];
    for (const m of mutations) {
      const at = bytes.length === 0 ? 0 : m.at % bytes.length;
      if (m.kind === 'insert') bytes.splice(at, 0, m.byte);
      else if (m.kind === 'delete') bytes.splice(at, 1);
      else bytes[at] = m.byte;
    }
    return Buffer.from(bytes);
  });

// ---- the peers ------------------------------------------------------------------------------------

interface Seen {
  method: string;
  realIp: string[];
}

let dito: DitoProcess;
let upstream: Server;
let reference: Server;
let referencePort = 0;
const upstreamSeen: Seen[] = [];
const upstreamParseErrors: string[] = [];
/** Requests the reference parsed, by the client's local address. */
const referenceSeen = new Map<string, string[]>();
let nextAddress = 1;

function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => (server.address() as { port: number }).port);
}

before(async () => {
  upstream = createServer((req, res) => {
    const realIp: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]!.toLowerCase() === 'x-real-ip') realIp.push(req.rawHeaders[i + 1]!);
    }
    upstreamSeen.push({ method: req.method ?? '', realIp });
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  upstream.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // A reset or an end mid-message is Dito aborting a request whose client left, not bad bytes.
    if (err.code !== 'ECONNRESET' && err.code !== 'HPE_INVALID_EOF_STATE') {
      upstreamParseErrors.push(`${err.code}: ${err.message}`);
    }
    socket.destroy();
  });
  const upstreamPort = await listen(upstream);

  const count = (req: IncomingMessage) => {
    const from = req.socket.remoteAddress ?? '';
    referenceSeen.set(from, [...(referenceSeen.get(from) ?? []), req.method ?? '']);
  };
  reference = createServer((req: IncomingMessage, res: ServerResponse) => {
    count(req);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  reference.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    count(req);
    res.writeContinue();
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  // Upgrades and CONNECT end HTTP on the connection: counted, then the socket is let go.
  reference.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    count(req);
    socket.destroy();
  });
  reference.on('connect', (req: IncomingMessage, socket: Socket) => {
    count(req);
    socket.destroy();
  });
  reference.on('clientError', (_err, socket: Socket) => socket.destroy());
  referencePort = await listen(reference);

  dito = await startDito(
    baseConfig([{ path: '^/', target_url: `http://127.0.0.1:${upstreamPort}` }], {
      request_timeout: '2s',
      metrics: { enabled: true },
      server: { read_header_timeout: '1s', read_timeout: '2s', idle_timeout: '1s' },
    }),
  );
});

after(async () => {
  await dito?.stop();
  upstream?.closeAllConnections();
  reference?.closeAllConnections();
  await Promise.all([upstream, reference].map((s) => new Promise((r) => s?.close(r))));
});

/** A loopback source address of its own for each input (127.1.0.1, 127.1.0.2, ...). */
function takeAddress(): string {
  let n = nextAddress++;
  if (n % 256 === 0 || n % 256 === 255) n = nextAddress++;
  return `127.${1 + ((n >> 16) & 0xff)}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

/**
 * Sends the bytes from `localAddress`; reads until the server closes, half-closing our side once
 * the server has been quiet for a moment. Returns what came back and whether the server closed.
 */
async function exchange(
  port: number,
  localAddress: string,
  bytes: Buffer,
): Promise<{ reply: Buffer; serverClosed: boolean }> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  try {
    await once(socket, 'connect');
  } catch (err) {
    const exit = dito.proc.exitCode ?? dito.proc.signalCode;
    throw new Error(`cannot connect to ${port} (Dito exit: ${exit}): ${dito.stderr().slice(-3000)}`, {
      cause: err,
    });
  }
  const chunks: Buffer[] = [];
  let last = Date.now();
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    last = Date.now();
  });
  socket.once('close', () => (closed = true));
  socket.write(bytes);
  const deadline = Date.now() + 4000;
  let halfClosed = false;
  while (!closed && Date.now() < deadline) {
    await sleep(20);
    if (!halfClosed && Date.now() - last > 150) {
      halfClosed = true;
      socket.end();
    }
  }
  socket.destroy();
  return { reply: Buffer.concat(chunks), serverClosed: closed };
}

/** Status codes of the responses at the front of `reply` (stops where it cannot tell the framing). */
function statuses(reply: Buffer): number[] {
  const out: number[] = [];
  let text = reply.toString('latin1');
  while (text.length > 0) {
    const match = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/.exec(text);
    assert.ok(match, `not an HTTP/1.1 response: ${JSON.stringify(text.slice(0, 60))}`);
    out.push(Number(match[1]));
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = text.slice(0, end);
    if (Number(match[1]) >= 400) assert.match(head, /content-type: application\/json/i);
    const length = /\r\ncontent-length: (\d+)/i.exec(head);
    text = text.slice(end + 4);
    if (Number(match[1]) < 200) continue;
    if (length === null) break;
    // A HEAD answer has a length but no body: the next response starts right away.
    if (!text.startsWith('HTTP/1.1 ')) text = text.slice(Number(length[1]));
  }
  return out;
}

function attributedTo(address: string): Seen[] {
  return upstreamSeen.filter((s) => s.realIp.length === 1 && s.realIp[0] === address);
}

function assertSubset(upstreamMethods: string[], referenceMethods: string[], address: string): void {
  const left = [...referenceMethods];
  for (const m of upstreamMethods) {
    const at = left.indexOf(m);
    assert.ok(
      at >= 0,
      `${address}: upstream saw ${m} that the reference did not parse (${referenceMethods})`,
    );
    left.splice(at, 1);
  }
}

const rounds: string[] = [];

/** fast-check's failure report, with the assertion that failed spelled out. */
async function assertWithCause<T>(
  property: fc.IAsyncProperty<T>,
  parameters: fc.Parameters<T>,
): Promise<void> {
  try {
    await fc.assert(property, parameters);
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new Error(
      `${(err as Error).message}\nCaused by: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause: err },
    );
  }
}

test('fuzz: raw request bytes never crash Dito, never smuggle a request upstream (time-boxed)', async () => {
  const budgetMs = fuzzTimeMs(4000);
  await assertWithCause(
    fc.asyncProperty(fc.array(input, { minLength: 1, maxLength: 4 }), async (inputs) => {
      await Promise.all(
        inputs.map(async (bytes) => {
          const address = takeAddress();
          rounds.push(address);
          const [viaDito] = await Promise.all([
            exchange(dito.port, address, bytes),
            exchange(referencePort, address, bytes),
          ]);
          const text = viaDito.reply.toString('latin1');
          try {
            assert.ok(viaDito.serverClosed, 'Dito closes the connection once the client is done');
            assert.doesNotMatch(text, /\n\s+at |node:internal|\/work\/|dist\/src/, 'no stack trace or path');
            for (const status of statuses(viaDito.reply)) {
              assert.ok(
                status === 100 || status === 200 || (status >= 400 && status < 600),
                `status ${status}`,
              );
            }
            assertSubset(
              attributedTo(address).map((s) => s.method),
              referenceSeen.get(address) ?? [],
              address,
            );
          } catch (err) {
            // fast-check prints the inputs as byte arrays: name the one that failed, as text.
            const sent = JSON.stringify(bytes.toString('latin1'));
            const got = JSON.stringify(text.slice(0, 2000));
            throw new Error(`${(err as Error).message}\n  sent: ${sent}\n  Dito answered: ${got}`, {
              cause: err,
            });
          }
        }),
      );
      assert.equal(
        dito.proc.exitCode,
        null,
        `Dito exited: ${dito.stderr().slice(-2000)} ${JSON.stringify(dito.logs.slice(-5))}`,
      );
    }),
    { interruptAfterTimeLimit: budgetMs, numRuns: fuzzRuns(2000), endOnFailure: true, ...fuzzSeed() },
  );

  // Requests still in flight when an input's check ran are counted now.
  await sleep(300);
  const known = new Set(rounds);
  for (const seen of upstreamSeen) {
    assert.equal(seen.realIp.length, 1, `an upstream request without Dito's one X-Real-IP: ${seen.realIp}`);
    assert.ok(known.has(seen.realIp[0]!), `an upstream request from no input: ${seen.realIp[0]}`);
  }
  for (const address of rounds) {
    assertSubset(
      attributedTo(address).map((s) => s.method),
      referenceSeen.get(address) ?? [],
      address,
    );
  }
  assert.deepEqual(upstreamParseErrors, [], 'the upstream parsed every byte Dito sent it');
  // Every connection the fuzzer opened is gone from Dito too (none held by unread bytes).
  await waitFor(async () => {
    const metrics = await request(`${dito.url}/metrics`);
    return /\nactive_connections 1\n/.test(metrics.text);
  }, 5000);
  const reply = await request(`${dito.url}/after-fuzz`);
  assert.equal(reply.status, 200);
  assert.equal(dito.proc.exitCode, null);
  assert.ok(dito.memory().current < 512 * 1024 * 1024, 'memory bounded');
  process.stdout.write(
    `# raw-request fuzz: ${rounds.length} inputs, ${upstreamSeen.length} upstream requests, ` +
      `${[...referenceSeen.values()].reduce((n, l) => n + l.length, 0)} parsed by the reference\n`,
  );
});
