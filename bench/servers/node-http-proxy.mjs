// node-http-proxy (npm `http-proxy`) as a user would tune it: a keep-alive agent to the upstream
// (its default opens a new connection per request), X-Forwarded-* on. Usage: node node-http-proxy.mjs <port> <upstream URL>
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, target] = [Number(process.argv[2]), process.argv[3]];
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
const proxy = httpProxy.createProxyServer({ target, agent, xfwd: true });
proxy.on('error', (error, _req, res) => {
  if (res.headersSent) res.destroy(error);
  else res.writeHead(502).end();
});
http.createServer((req, res) => proxy.web(req, res)).listen(port, '127.0.0.1');
