// The WebSocket echo load generator, run as its own process (pinned to the load CPUs like wrk):
// N connections to ws://127.0.0.1:<port><path>, each in a closed loop sending one masked binary
// message of <bytes> bytes and waiting for its echo, for <seconds>. A raw-socket client: the frame
// is built once per connection and the echo is parsed in place, so the client costs one write and
// one read per message (far less than a WebSocket library) and is not the bottleneck.
// Usage: node ws-echo-client.mjs <port> <path> <connections> <seconds> <bytes> <result.json>
// Writes { messages, durationUs, bytes, errors: {...}, latency: { histogram, max, sum } } to result.json.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

const [port, urlPath, connections, seconds, messageBytes, resultFile] = [
  Number(process.argv[2]),
  process.argv[3],
  Number(process.argv[4]),
  Number(process.argv[5]),
  Number(process.argv[6]),
  process.argv[7],
];
if (!(port > 0) || !urlPath || !(connections > 0) || !(seconds > 0) || !(messageBytes >= 0) || !resultFile) {
  console.error('usage: ws-echo-client.mjs <port> <path> <connections> <seconds> <bytes> <result.json>');
  process.exit(2);
}
if (messageBytes > 65535) throw new Error('messages above 64 KiB are not supported');
const TIMEOUT_MS = 10000; // like wrk's --timeout 10s: an echo slower than this counts as an error

// Bounded whatever happens: handshakes, the run, the wind-down, with a generous margin.
setTimeout(
  () => {
    console.error('ws-echo-client: hard time limit reached');
    process.exit(3);
  },
  (seconds + 30) * 1000,
).unref();

// Latencies in a log-linear histogram of microseconds (1/1024 relative precision), so several
// client processes can be merged: index v for v < 1024, then 1024 buckets per power of two.
const histogram = new Float64Array(1024 * 24);
function record(us) {
  let v = Math.max(0, Math.round(us));
  if (v >= 1024) {
    const e = 31 - Math.clz32(Math.min(v, 2 ** 31));
    v = 1024 * (e - 9) + ((v >>> (e - 10)) - 1024);
  }
  histogram[Math.min(v, histogram.length - 1)]++;
}

const errors = { connect: 0, handshake: 0, closed: 0, protocol: 0, timeout: 0 };
let measuring = false;
let stopping = false;
let messages = 0;
let bytes = 0;
let latencySum = 0;
let latencyMax = 0;

/** The masked binary frame a client sends: header, key, payload XOR key (RFC 6455 section 5.3). */
function buildFrame() {
  const payload = crypto.randomBytes(messageBytes);
  const extended = messageBytes >= 126 ? 2 : 0;
  const frame = Buffer.alloc(2 + extended + 4 + messageBytes);
  frame[0] = 0x82; // FIN, binary
  frame[1] = 0x80 | (extended ? 126 : messageBytes);
  if (extended) frame.writeUInt16BE(messageBytes, 2);
  const keyAt = 2 + extended;
  crypto.randomFillSync(frame, keyAt, 4);
  for (let i = 0; i < messageBytes; i++) frame[keyAt + 4 + i] = payload[i] ^ frame[keyAt + (i & 3)];
  return frame;
}

function connect() {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    const frame = buildFrame();
    const echoLength = 2 + (messageBytes >= 126 ? 2 : 0) + messageBytes; // unmasked from the server
    const conn = { socket, sentAt: 0, pending: false, received: 0, open: false };
    let head = Buffer.alloc(0);
    let failed = false;
    const fail = (kind) => {
      if (failed) return;
      failed = true;
      if (!conn.open) {
        errors[kind]++;
        resolve(null);
      } else if (!stopping) errors[kind === 'connect' ? 'closed' : kind]++;
      conn.open = false;
      conn.pending = false;
      socket.destroy();
    };
    socket.on('error', () => fail('connect'));
    socket.on('close', () => fail('connect'));
    socket.setTimeout(TIMEOUT_MS, () => {
      if (conn.pending && measuring) errors.timeout++;
      if (!conn.open) fail('handshake');
    });
    const send = () => {
      conn.sentAt = performance.now();
      conn.pending = true;
      conn.received = 0;
      socket.write(frame);
    };
    conn.send = send;
    // Echo frames: every frame the server sends here must be exactly one unmasked binary frame of
    // the message's size. Bytes are only counted: the loop is closed, one message in flight.
    const onData = (chunk) => {
      let offset = 0;
      while (offset < chunk.length) {
        if (conn.received === 0 && chunk.length - offset >= 2) {
          const b0 = chunk[offset];
          const b1 = chunk[offset + 1];
          if ((b0 & 0x0f) === 0x8) return fail('closed'); // the server closed
          if (b0 !== 0x82 || b1 & 0x80 || (b1 & 0x7f) !== (messageBytes >= 126 ? 126 : messageBytes))
            return fail('protocol');
        }
        const take = Math.min(echoLength - conn.received, chunk.length - offset);
        conn.received += take;
        offset += take;
        if (conn.received === echoLength) {
          const latency = performance.now() - conn.sentAt;
          conn.pending = false;
          conn.received = 0;
          if (measuring) {
            messages++;
            bytes += echoLength;
            const us = latency * 1000;
            latencySum += us;
            if (us > latencyMax) latencyMax = us;
            record(us);
          }
          if (!stopping) send();
        }
      }
    };
    socket.once('connect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      socket.write(
        `GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const expectedAccept = crypto
        .createHash('sha1')
        .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      const onHead = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 16384) fail('handshake');
          return;
        }
        socket.off('data', onHead);
        const text = head.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101 /.test(text) || !text.toLowerCase().includes(expectedAccept.toLowerCase()))
          return fail('handshake');
        conn.open = true;
        socket.on('data', onData);
        if (head.length > end + 4) onData(head.subarray(end + 4));
        resolve(conn);
      };
      socket.on('data', onHead);
    });
  });
}

const opened = (await Promise.all(Array.from({ length: connections }, connect))).filter(Boolean);
// Everything connected: start the loops, then measure from the first send to the stop.
measuring = true;
const started = performance.now();
for (const conn of opened) conn.send();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
stopping = true;
measuring = false;
const durationUs = (performance.now() - started) * 1000;
for (const conn of opened) {
  if (conn.pending && performance.now() - conn.sentAt > TIMEOUT_MS) errors.timeout++;
  conn.socket.destroy();
}
const sparse = [];
for (let i = 0; i < histogram.length; i++) if (histogram[i] > 0) sparse.push([i, histogram[i]]);
fs.writeFileSync(
  resultFile,
  JSON.stringify({
    connections: opened.length,
    messages,
    durationUs,
    bytes,
    errors,
    latency: { histogram: sparse, sum: latencySum, max: latencyMax },
  }),
);
console.log(
  `ws-echo-client: ${messages} echoes in ${(durationUs / 1e6).toFixed(2)} s on ${opened.length} connections`,
);
process.exit(0);
