// The demo backend `make quick-start` runs beside Dito: an HTTP echo (JSON of what it received)
// and a WebSocket echo, on 127.0.0.1 only. Usage: node demo/backend.mjs [port]
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? process.env.DEMO_BACKEND_PORT ?? 9000);

const server = createServer((req, res) => {
  let bodyBytes = 0;
  req.on('data', (chunk) => {
    bodyBytes += chunk.length;
  });
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://backend');
    if (url.pathname.endsWith('/slow')) {
      setTimeout(() => reply(res, 200, { slow: true, waited_ms: 2000 }), 2000);
      return;
    }
    if (url.pathname.endsWith('/stream')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`tick ${++n}\n`);
        if (n === 5) {
          clearInterval(timer);
          res.end();
        }
      }, 200);
      return;
    }
    if (url.pathname.endsWith('/cacheable')) {
      reply(res, 200, { generated_at: new Date().toISOString() }, { 'cache-control': 'public, max-age=30' });
      return;
    }
    reply(res, 200, {
      backend: 'dito-demo',
      method: req.method,
      url: req.url,
      headers: req.headers,
      body_bytes: bodyBytes,
    });
  });
});

function reply(res, status, payload, headers = {}) {
  const body = `${JSON.stringify(payload, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (socket, req) => {
  socket.send(JSON.stringify({ hello: 'dito-demo', path: req.url, protocol: socket.protocol || null }));
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});

// 127.0.0.1 unless told otherwise (the Compose demo sets DEMO_BACKEND_HOST=0.0.0.0 in its container).
const host = process.env.DEMO_BACKEND_HOST ?? '127.0.0.1';

server.listen(port, host, () => {
  process.stdout.write(
    `demo backend: http://${host}:${port} (HTTP echo) and ws://${host}:${port}/ws (WebSocket echo)\n`,
  );
});

const stop = () => {
  for (const client of wss.clients) client.close(1001, 'backend stopping');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
