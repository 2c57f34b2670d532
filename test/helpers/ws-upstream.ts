// A real WebSocket upstream (the `ws` library) for tests: echoes every message with its type,
// records each handshake's request and each connection's close code, plain or over TLS (with an
// optional client-certificate requirement), and closes everything with `close()`.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { type ServerOptions, WebSocket, WebSocketServer } from 'ws';
import type { CertFiles } from './certs.js';

export interface UpstreamConnection {
  socket: WebSocket;
  request: IncomingMessage;
  /** Filled when the connection closes. */
  closed: Promise<{ code: number; reason: string }>;
  pings: Buffer[];
}

export interface WsUpstream {
  port: number;
  /** `ws://127.0.0.1:port` or `wss://localhost:port`. */
  url: string;
  wss: WebSocketServer;
  server: Server;
  connections: UpstreamConnection[];
  /** Handshakes that reached the server, accepted or not. */
  handshakes: IncomingMessage[];
  close(): Promise<void>;
}

export interface WsUpstreamOptions {
  /** Serve TLS with the test PKI; `requireClientCert` demands a client certificate from it. */
  tls?: { certs: CertFiles; requireClientCert?: boolean };
  handleProtocols?: ServerOptions['handleProtocols'];
  perMessageDeflate?: ServerOptions['perMessageDeflate'];
  /** Extra headers for the 101 answer. */
  responseHeaders?: string[];
  /** Replaces the echo. */
  onConnection?: (socket: WebSocket, request: IncomingMessage) => void;
  maxPayload?: number;
}

export async function startWsUpstream(options: WsUpstreamOptions = {}): Promise<WsUpstream> {
  const tls = options.tls;
  const server = tls
    ? createHttpsServer({
        cert: tls.certs.pem.serverCert,
        key: tls.certs.pem.serverKey,
        ca: tls.certs.pem.ca,
        requestCert: tls.requireClientCert === true,
        rejectUnauthorized: tls.requireClientCert === true,
      })
    : createHttpServer();
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const handshakes: IncomingMessage[] = [];
  server.prependListener('upgrade', (request: IncomingMessage) => handshakes.push(request));
  const wss = new WebSocketServer({
    server,
    handleProtocols: options.handleProtocols,
    perMessageDeflate: options.perMessageDeflate ?? false,
    maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
  });
  if (options.responseHeaders !== undefined) {
    const extra = options.responseHeaders;
    wss.on('headers', (headers: string[]) => {
      for (let i = 0; i < extra.length; i += 2) headers.push(`${extra[i]}: ${extra[i + 1]}`);
    });
  }
  const connections: UpstreamConnection[] = [];
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const connection: UpstreamConnection = {
      socket,
      request,
      pings: [],
      closed: new Promise((resolve) =>
        socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
      ),
    };
    connections.push(connection);
    socket.on('error', () => {});
    socket.on('ping', (data: Buffer) => connection.pings.push(data));
    if (options.onConnection !== undefined) {
      options.onConnection(socket, request);
      return;
    }
    socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: tls ? `wss://localhost:${port}` : `ws://127.0.0.1:${port}`,
    wss,
    server,
    connections,
    handshakes,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Opens a client and waits for it to be open (or rejects with the handshake failure). */
export async function openClient(
  url: string,
  protocols?: string | string[],
  options?: ConstructorParameters<typeof WebSocket>[2],
): Promise<WebSocket> {
  const socket = new WebSocket(url, protocols, options);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) =>
      reject(new Error(`unexpected response ${res.statusCode ?? 0}`)),
    );
  });
  socket.on('error', () => {});
  return socket;
}

/** The next message on `socket`, with its type. */
export function nextMessage(socket: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) =>
    socket.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })),
  );
}

/** Resolves with the close code and reason the socket reports. */
export function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1, reason: 'already closed' });
  return new Promise((resolve) =>
    socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
}
