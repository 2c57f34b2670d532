// The Node ceiling: the least a Node forwarder must do (node:http in, an undici Pool out, bodies
// streamed with backpressure, hop-by-hop headers dropped; a WebSocket upgrade is a raw relay: the
// request head written to a new upstream connection, then bytes piped both ways, the upstream's 101
// included). Usage: node bare-forwarder.mjs <port> <upstream URL>
import http from 'node:http';
import net from 'node:net';
import { Pool } from 'undici';

const [port, target] = [Number(process.argv[2]), process.argv[3]];
const pool = new Pool(target, { connections: 256, pipelining: 1 });
const hopByHop = new Set(
  'connection keep-alive proxy-connection te trailer transfer-encoding upgrade host'.split(' '),
);

const upstreamUrl = new URL(target);

/** The least a WebSocket relay does: no header rules beyond Host, no frame parsing. */
function relayUpgrade(req, socket, head) {
  const upstream = net.connect({ host: upstreamUrl.hostname, port: Number(upstreamUrl.port), noDelay: true });
  socket.setNoDelay(true);
  let requestHead = `${req.method} ${req.url} HTTP/1.1\r\n`;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    requestHead += `${name}: ${name.toLowerCase() === 'host' ? upstreamUrl.host : req.rawHeaders[i + 1]}\r\n`;
  }
  upstream.write(`${requestHead}\r\n`);
  if (head.length > 0) upstream.write(head);
  // Either side ending ends the other (pipe); either side failing destroys both.
  socket.pipe(upstream);
  upstream.pipe(socket);
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
}

http
  .createServer((req, res) => {
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (!hopByHop.has(req.rawHeaders[i].toLowerCase()))
        headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    const body = req.method === 'GET' || req.method === 'HEAD' ? null : req;
    pool.dispatch(
      { path: req.url, method: req.method, headers, body },
      {
        onRequestStart(controller) {
          // A client gone mid-response (wrk stops mid-flight) must free the pooled upstream connection.
          res.once('close', () => res.writableFinished || controller.abort(new Error('client closed')));
        },
        onResponseStart(_controller, statusCode, responseHeaders) {
          for (const name of hopByHop) delete responseHeaders[name];
          res.writeHead(statusCode, responseHeaders);
        },
        onResponseData(controller, chunk) {
          if (!res.write(chunk)) {
            controller.pause();
            res.once('drain', () => controller.resume());
          }
        },
        onResponseEnd() {
          res.end();
        },
        onResponseError(_controller, error) {
          if (res.headersSent) res.destroy(error);
          else res.writeHead(502).end();
        },
      },
    );
  })
  .on('upgrade', relayUpgrade)
  .listen(port, '127.0.0.1');
