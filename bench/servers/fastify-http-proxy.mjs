// @fastify/http-proxy with its defaults (undici under @fastify/reply-from), logger off, and its
// `websocket: true` option (a `ws` server per client and a `ws` client to the upstream).
// Usage: node fastify-http-proxy.mjs <port> <upstream URL>
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const [port, upstream] = [Number(process.argv[2]), process.argv[3]];
const app = Fastify({ logger: false });
await app.register(proxy, { upstream, websocket: true });
await app.listen({ port, host: '127.0.0.1' });
