// The fixed upstream of every case: GET /bytes/<n> answers n bytes from a buffer allocated at start,
// POST /upload reads the whole body and answers {"received":<bytes>}, a WebSocket upgrade on /ws echoes
// every message back as it came (binary or text; `ws` with compression off and no UTF-8 check). Kept
// minimal so it is never the proxy's bottleneck. Usage: node upstream.mjs <port> <size,size,...>
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const sizes = (process.argv[3] ?? '1024').split(',').map(Number);

const responses = new Map();
for (const size of sizes) {
  const headers = ['Content-Type', 'application/octet-stream', 'Content-Length', String(size)];
  responses.set(`/bytes/${size}`, { headers, body: Buffer.alloc(size, 'a') });
}

const server = http.createServer((req, res) => {
  res.sendDate = false;
  if (req.method === 'POST' && req.url === '/upload') {
    let received = 0;
    req.on('data', (chunk) => {
      received += chunk.length;
    });
    req.on('end', () => {
      const body = `{"received":${received}}`;
      res.writeHead(200, ['Content-Type', 'application/json', 'Content-Length', String(body.length)]);
      res.end(body);
    });
    return;
  }
  const response = req.method === 'GET' ? responses.get(req.url) : undefined;
  if (response) {
    res.writeHead(200, response.headers);
    res.end(response.body);
  } else {
    res.writeHead(404, ['Content-Length', '0']);
    res.end();
  }
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, skipUTF8Validation: true });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  if (req.url !== '/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
// Proxies keep pooled connections idle while the other proxies are measured: never time them out here.
server.keepAliveTimeout = 10 * 60 * 1000;
server.listen({ port, host: '127.0.0.1', backlog: 2048 });
