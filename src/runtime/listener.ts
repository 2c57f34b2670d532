// The HTTPS listener (extension, `tls:` block): HTTP/2 and HTTP/1.1 on one port, chosen by ALPN,
// optional client certificates, certificates re-read on reload. It plugs into DitoServer through
// `createListener`, adapted to the part of node:http's Server that DitoServer drives.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError } from '../config/errors.js';
import type { ListenerTlsConfig, LoadedConfig } from '../config/types.js';

/** Streams one client may have open at once (Envoy's and nginx's default; Node's is 2^32-1). */
const MAX_CONCURRENT_STREAMS = 100;
/** An HTTP/2 connection with no frames for this long is closed, as HTTP/1.1 keep-alive ones are. */
const SESSION_IDLE_TIMEOUT_MS = 65_000;

type TlsFileKey = 'cert_file' | 'key_file' | 'ca_file';

/** A listener certificate file that cannot be read; names the file and its key. */
class ListenerTlsError extends Error {
  constructor(
    readonly key: TlsFileKey,
    reason: string,
  ) {
    super(reason);
    this.name = 'ListenerTlsError';
  }
}

/** Reads the listener's certificate files (at start and at every reload). */
function readListenerTls(tls: ListenerTlsConfig): SecureContextOptions {
  const read = (key: TlsFileKey, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new ListenerTlsError(key, `cannot read ${file}: ${reason}`);
    }
  };
  return {
    cert: read('cert_file', tls.certFile),
    key: read('key_file', tls.keyFile),
    ca: tls.caFile === undefined ? undefined : read('ca_file', tls.caFile),
  };
}

/**
 * Reads the `tls:` block's files and builds a context from them, so that a missing file, a bad
 * PEM or a key that does not match its certificate is a config error naming the key (at start,
 * `--check` and reload) rather than a failure later. Returns the options for the listener.
 */
export function loadListenerTls(loaded: LoadedConfig): SecureContextOptions | undefined {
  const tls = loaded.config.tls;
  if (tls === undefined) return undefined;
  try {
    const options = readListenerTls(tls);
    createSecureContext(options);
    return options;
  } catch (err) {
    const key: TlsFileKey = err instanceof ListenerTlsError ? err.key : 'cert_file';
    const message =
      err instanceof ListenerTlsError ? err.message : `invalid certificate or key: ${(err as Error).message}`;
    throw new ConfigError(loaded.locate(['tls', key]), `tls.${key}`, message);
  }
}

/**
 * An HTTP/2 secure server that also speaks HTTP/1.1, with the two connection-closing methods
 * DitoServer's drain uses (node:http2 has no `closeAllConnections`, and HTTP/2 sessions need a
 * GOAWAY rather than a socket close to finish their streams).
 */
export function createHttpsListener(tls: ListenerTlsConfig, files: SecureContextOptions): Server {
  const clientCertificates = tls.caFile !== undefined;
  const server: Http2SecureServer = createSecureServer({
    ...files,
    minVersion: tls.minVersion,
    allowHTTP1: true,
    // With a `ca_file`, a client must present a certificate that chains to it.
    requestCert: clientCertificates,
    rejectUnauthorized: clientCertificates,
    settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
  });

  const sessions = new Set<ServerHttp2Session>();
  const sockets = new Set<Socket>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.setTimeout(SESSION_IDLE_TIMEOUT_MS, () => session.close());
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const closeIdleHttp1 = (server as { closeIdleConnections?: () => void }).closeIdleConnections?.bind(server);
  Object.assign(server, {
    /** HTTP/2: GOAWAY now (open streams finish, no new ones); HTTP/1.1: close idle sockets. */
    closeIdleConnections(): void {
      for (const session of sessions) session.close();
      closeIdleHttp1?.();
    },
    /** Drain time is over: every connection goes, whatever it carries. */
    closeAllConnections(): void {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  });
  // DitoServer uses the request/upgrade/checkContinue events and the methods above, which this
  // server provides with node:http's signatures (requests arrive as compat request objects).
  return server as unknown as Server;
}

/** Puts re-read certificate files into a running listener; new connections use them. */
export function reloadListenerTls(server: Server, tls: ListenerTlsConfig, files: SecureContextOptions): void {
  (server as unknown as Http2SecureServer).setSecureContext({ ...files, minVersion: tls.minVersion });
}
