// node-http-proxy (npm `http-proxy`) as a user would tune it: a keep-alive agent to the upstream
// (its default opens a new connection per request), X-Forwarded-* on, WebSocket upgrades relayed
// with proxy.ws. Usage: node node-http-proxy.mjs <port> <upstream URL>
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, target] = [Number(process.argv[2]), process.argv[3]];
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
const proxy = httpProxy.createProxyServer({ target, agent, xfwd: true });
proxy.on('error', (error, _req, res) => {
  // For a WebSocket, `res` is the client socket.
  if (typeof res.writeHead !== 'function' || res.headersSent) res.destroy(error);
  else res.writeHead(502).end();
});
const server = http.createServer((req, res) => proxy.web(req, res));
server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
server.listen(port, '127.0.0.1');
