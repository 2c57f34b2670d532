// Real upstream servers for tests: an echo server that reports what it received, and
// hooks for custom behaviour (silent, slow, resetting). Every server closes with `close()`.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  httpVersion: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  bodyLength: number;
}

export interface Upstream {
  server: Server;
  port: number;
  url: string;
  requests: SeenRequest[];
  /** Connections accepted so far, and currently open. */
  connections: { total: number; open: number; maxOpen: number };
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void;

/** Answers with JSON describing the request it received (after reading the whole body). */
export const echoHandler: UpstreamHandler = (_req, res, seen) => {
  const body = JSON.stringify(seen);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

export async function startUpstream(handler: UpstreamHandler = echoHandler): Promise<Upstream> {
  const requests: SeenRequest[] = [];
  const connections = { total: 0, open: 0, maxOpen: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const seen: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyLength: 0,
    };
    requests.push(seen);
    req.on('data', (c: Buffer) => {
      seen.bodyLength += c.length;
    });
    req.on('end', () => handler(req, res, seen));
  });
  server.on('connection', (socket: Socket) => {
    connections.total++;
    connections.open++;
    connections.maxOpen = Math.max(connections.maxOpen, connections.open);
    sockets.add(socket);
    socket.on('close', () => {
      connections.open--;
      sockets.delete(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface RawUpstream {
  port: number;
  url: string;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A TCP server that hands each connection to `behave`: for upstreams that break HTTP on purpose. */
export async function startRawUpstream(
  behave: (socket: Socket, request: string) => void,
): Promise<RawUpstream> {
  const { createServer: createTcpServer } = await import('node:net');
  const sockets = new Set<Socket>();
  const state = { accepted: 0 };
  const server = createTcpServer((socket) => {
    state.accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData);
        behave(socket, head);
      }
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return state.accepted;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
