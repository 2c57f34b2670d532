// The fixed upstream of every case: GET /bytes/<n> answers n bytes from a buffer allocated at start,
// POST /upload reads the whole body and answers {"received":<bytes>}. Kept minimal so it is never
// the proxy's bottleneck. Usage: node upstream.mjs <port> <size,size,...>
import http from 'node:http';

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
// Proxies keep pooled connections idle while the other proxies are measured: never time them out here.
server.keepAliveTimeout = 10 * 60 * 1000;
server.listen({ port, host: '127.0.0.1', backlog: 2048 });
