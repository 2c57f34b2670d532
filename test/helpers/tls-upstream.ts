// TLS upstreams for transport tests: HTTPS (optionally requiring a client certificate), an
// HTTP/2-only TLS server, a TCP server that never speaks TLS, and a listening socket that never
// accepts (a "blackhole" for dial timeouts). Each records what it saw and closes with `close()`.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { TestCerts } from './certs.js';

export interface TlsUpstream {
  port: number;
  url: string;
  /** HTTP versions of the requests seen, in order. */
  versions: string[];
  /** Subject CNs of client certificates presented ('' when none). */
  clientNames: string[];
  close(): Promise<void>;
}

async function listen(server: NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

function track(server: NetServer): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
}

/** HTTPS + HTTP/1.1 upstream; with `requireClientCert`, only clients with a CA-signed certificate pass. */
export async function startHttpsUpstream(
  certs: TestCerts,
  options: { requireClientCert?: boolean } = {},
): Promise<TlsUpstream> {
  const versions: string[] = [];
  const clientNames: string[] = [];
  const server: HttpsServer = createHttpsServer(
    {
      cert: certs.pem.serverCert,
      key: certs.pem.serverKey,
      ca: certs.pem.ca,
      requestCert: options.requireClientCert === true,
      rejectUnauthorized: options.requireClientCert === true,
    },
    (req, res) => {
      versions.push(req.httpVersion);
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      clientNames.push(typeof peer?.subject?.CN === 'string' ? peer.subject.CN : '');
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ version: req.httpVersion, url: req.url, client: clientNames.at(-1) });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    },
  );
  const close = track(server);
  const port = await listen(server);
  return { port, url: `https://127.0.0.1:${port}`, versions, clientNames, close };
}

/** A TLS server that speaks only HTTP/2 (no HTTP/1.1 fallback by ALPN). */
export async function startHttp2OnlyUpstream(certs: TestCerts): Promise<TlsUpstream> {
  const versions: string[] = [];
  const server: Http2SecureServer = createSecureServer(
    { cert: certs.pem.serverCert, key: certs.pem.serverKey, allowHTTP1: false },
    (req, res) => {
      versions.push(req.httpVersion);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ version: req.httpVersion, url: req.url }));
      });
    },
  );
  const close = track(server);
  const port = await listen(server);
  return { port, url: `https://127.0.0.1:${port}`, versions, clientNames: [], close };
}

/** Accepts TCP connections and never sends a byte: a TLS handshake with it never completes. */
export async function startSilentTcp(): Promise<{
  port: number;
  accepted: () => number;
  close(): Promise<void>;
}> {
  let accepted = 0;
  const server = createNetServer(() => {
    accepted++;
  });
  const close = track(server);
  const port = await listen(server);
  return { port, accepted: () => accepted, close };
}

/**
 * A listening socket whose accept queue is full and never drained: new TCP handshakes get no
 * answer (the kernel drops the SYN), as with a blackholed address — but on 127.0.0.1. Node always
 * accepts, so the socket is held by a small Python process; undefined when python3 is missing.
 */
export async function startBlackhole(): Promise<{ port: number; close(): Promise<void> } | undefined> {
  const script = [
    'import socket, sys',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  let child: ChildProcess;
  try {
    child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const port = await new Promise<number | undefined>((resolve) => {
    child.once('error', () => resolve(undefined));
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  if (port === undefined || !Number.isInteger(port)) return undefined;
  // Fill the queue (backlog 0 holds one connection); every later connect hangs.
  const filler = connect(port, '127.0.0.1');
  await once(filler, 'connect');
  return {
    port,
    close: async () => {
      filler.destroy();
      child.stdin!.end();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill();
        await exited;
      }
    },
  };
}
