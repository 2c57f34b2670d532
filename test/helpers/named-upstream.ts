// Upstreams for pool tests: each answers with its own name, counts what it served (health checks
// apart), can change behaviour on the fly (slow, failing, resetting) and can be stopped and
// started again on the same port, as a crashed and restarted backend would be.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Pool } from 'undici';

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'reset' };

export interface NamedUpstream {
  name: string;
  port: number;
  url: string;
  /** Requests served, health checks not counted. */
  served: number;
  /** Request bodies received (bytes), in order. */
  bodies: number[];
  /** Health-check requests seen. */
  checks: number;
  behaviour: Behaviour;
  /** What the health-check path answers (default 200). */
  healthStatus: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const HEALTH_PATH = '/healthz';

export async function startNamedUpstream(name: string): Promise<NamedUpstream> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const upstream: NamedUpstream = {
    name,
    port: 0,
    url: '',
    served: 0,
    bodies: [],
    checks: 0,
    behaviour: { kind: 'ok' },
    healthStatus: 200,
    async stop() {
      if (server === undefined) return;
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => closing.close(resolve));
    },
    async start() {
      server = createServer((req, res) => handle(upstream, req, res));
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      server.listen(upstream.port, '127.0.0.1');
      await once(server, 'listening');
      upstream.port = (server.address() as { port: number }).port;
      upstream.url = `http://127.0.0.1:${upstream.port}`;
    },
  };
  await upstream.start();
  return upstream;
}

function handle(upstream: NamedUpstream, req: IncomingMessage, res: ServerResponse): void {
  let length = 0;
  req.on('data', (chunk: Buffer) => (length += chunk.length));
  req.on('end', () => {
    if (req.url === HEALTH_PATH) {
      upstream.checks++;
      res.writeHead(upstream.healthStatus, { 'content-type': 'text/plain' });
      res.end('health');
      return;
    }
    upstream.served++;
    upstream.bodies.push(length);
    const behaviour = upstream.behaviour;
    const answer = (status = 200, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain', 'x-upstream': upstream.name, ...headers });
      res.end(upstream.name);
    };
    switch (behaviour.kind) {
      case 'ok':
        return answer();
      case 'slow':
        setTimeout(() => answer(), behaviour.delayMs);
        return;
      case 'status':
        return answer(behaviour.status, behaviour.headers);
      case 'reset':
        req.socket.destroy();
        return;
    }
  });
}

export interface Tally {
  byName: Map<string, number>;
  statuses: Map<number, number>;
  errors: number;
}

/** Sends `count` requests over a keep-alive pool (`concurrency` at a time) and tallies who answered. */
export async function hammer(
  url: string,
  path: string,
  count: number,
  options: { concurrency?: number; headers?: (i: number) => Record<string, string> } = {},
): Promise<Tally> {
  const pool = new Pool(url, { connections: options.concurrency ?? 8 });
  const tally: Tally = { byName: new Map(), statuses: new Map(), errors: 0 };
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        const { statusCode, headers, body } = await pool.request({
          path,
          method: 'GET',
          headers: options.headers?.(i),
        });
        await body.text();
        tally.statuses.set(statusCode, (tally.statuses.get(statusCode) ?? 0) + 1);
        const name = headers['x-upstream'];
        if (typeof name === 'string') tally.byName.set(name, (tally.byName.get(name) ?? 0) + 1);
      } catch {
        tally.errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  await pool.close();
  return tally;
}
