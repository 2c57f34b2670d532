// The admin listener: its own port (never the proxy's), the JSON API, the once-a-second event
// stream and the dashboard's static assets. Guards: auth when configured; without auth (loopback
// only) a Host check against DNS rebinding; cross-site POSTs refused; strict browser headers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AdminConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { type ErrorCode, sendError } from '../proxy/errors.js';
import { requestIdFrom } from '../proxy/request-id.js';
import {
  configDocument,
  pluginsDocument,
  redisDocument,
  reloadDocument,
  reloadsDocument,
  routesDocument,
  statsDocument,
  tickDocument,
  upstreamsDocument,
} from './api.js';
import { type AdminAuthenticator, createAdminAuthenticator } from './auth.js';
import type { AdminSource } from './source.js';
import { EventStream } from './event-stream.js';
import { STATIC_ASSETS } from './ui/assets.js';

/** Headers every admin answer carries: never framed, never sniffed, never cached by a proxy. */
const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Documents served by GET, by path. */
const DOCUMENTS: Record<string, (source: AdminSource, url: URL) => unknown> = {
  '/api/config': configDocument,
  '/api/routes': routesDocument,
  '/api/upstreams': upstreamsDocument,
  '/api/plugins': pluginsDocument,
  '/api/redis': redisDocument,
  '/api/reloads': reloadsDocument,
  '/api/stats': (source, url) => statsDocument(source, url.searchParams.get('history') === '1'),
};

/** Host names a browser may use for a loopback listener (anything else may be DNS rebinding). */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

export class AdminServer {
  private authenticator: AdminAuthenticator | undefined;
  private readonly events: EventStream;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private settings: AdminConfig,
    private readonly source: AdminSource,
    private logger: Logger,
    readonly port: number,
  ) {
    this.authenticator = createAdminAuthenticator(settings.auth);
    this.events = new EventStream(() => tickDocument(source));
  }

  static async start(settings: AdminConfig, source: AdminSource, logger: Logger): Promise<AdminServer> {
    const server = createServer({ connectionsCheckingInterval: 1000 });
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.port, settings.address, () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
    const admin = new AdminServer(server, settings, source, logger, port);
    server.on('request', (req, res) => admin.handle(req, res));
    server.on('connection', (socket: Socket) => {
      admin.sockets.add(socket);
      socket.once('close', () => admin.sockets.delete(socket));
    });
    server.on('clientError', (_err, socket: Socket) => socket.destroy());
    return admin;
  }

  /** True when `settings` would bind the same address and port (auth may differ). */
  listensAs(settings: AdminConfig): boolean {
    return settings.address === this.settings.address && settings.port === this.settings.port;
  }

  /** Applies a reloaded `admin:` block that keeps the address (auth may change). */
  configure(settings: AdminConfig, logger: Logger): void {
    const previous = this.authenticator;
    this.settings = settings;
    this.logger = logger;
    this.authenticator = createAdminAuthenticator(settings.auth);
    void previous?.close();
  }

  private fail(req: IncomingMessage, res: ServerResponse, code: ErrorCode, headers?: Record<string, string>) {
    const requestId = requestIdFrom(req.headers['x-request-id'] as string | undefined);
    for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
    sendError(res, code, requestId, undefined, headers);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      this.fail(req, res, 'DITO_ERR_BAD_REQUEST');
      return;
    }
    const authenticator = this.authenticator;
    if (authenticator === undefined && !isLoopbackHost(req.headers.host)) {
      this.fail(req, res, 'DITO_ERR_FORBIDDEN');
      return;
    }
    if (authenticator === undefined || (authenticator.assetsPublic && STATIC_ASSETS.has(url.pathname))) {
      this.route(req, res, url);
      return;
    }
    const verdict = authenticator.check(req);
    const decide = (outcome: Awaited<typeof verdict>) => {
      if (outcome === 'ok') this.route(req, res, url);
      else if (outcome === 'busy') this.fail(req, res, 'DITO_ERR_UNAVAILABLE', { 'retry-after': '1' });
      else this.fail(req, res, 'DITO_ERR_UNAUTHORIZED', { 'www-authenticate': authenticator.challenge });
    };
    if (verdict instanceof Promise) {
      verdict.then(decide, () => this.fail(req, res, 'DITO_ERR_INTERNAL'));
    } else decide(verdict);
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const path = url.pathname;
    if (path === '/api/reload') {
      if (req.method !== 'POST') this.fail(req, res, 'DITO_ERR_METHOD_NOT_ALLOWED', { allow: 'POST' });
      else this.reload(req, res);
      return;
    }
    const document = DOCUMENTS[path];
    const asset = STATIC_ASSETS.get(path);
    if (document === undefined && asset === undefined && path !== '/api/events') {
      this.fail(req, res, 'DITO_ERR_NOT_FOUND');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.fail(req, res, 'DITO_ERR_METHOD_NOT_ALLOWED', { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/api/events') {
      if (!this.events.add(res, COMMON_HEADERS)) this.fail(req, res, 'DITO_ERR_UNAVAILABLE');
      return;
    }
    if (asset !== undefined) {
      res.writeHead(200, { ...COMMON_HEADERS, ...asset.headers });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return;
    }
    this.json(req, res, 200, document!(this.source, url));
  }

  private json(req: IncomingMessage, res: ServerResponse, status: number, value: unknown): void {
    const body = JSON.stringify(value);
    res.writeHead(status, {
      ...COMMON_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /**
   * `POST /api/reload`. A browser on another site can send a simple POST to a loopback port
   * (CSRF): a request whose `Origin` is not this listener, or marked cross-site, is refused.
   */
  private reload(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    const host = req.headers.host;
    const crossSite = req.headers['sec-fetch-site'] === 'cross-site';
    if (crossSite || (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`)) {
      this.fail(req, res, 'DITO_ERR_FORBIDDEN');
      return;
    }
    this.logger.info({ client: req.socket.remoteAddress }, 'reload requested through the admin API');
    this.source.reload('admin API').then(
      (record) => {
        if (record === undefined) this.fail(req, res, 'DITO_ERR_UNAVAILABLE');
        else this.json(req, res, 200, { ok: record.ok, reload: reloadDocument(record) });
        this.events.broadcastSoon();
      },
      () => this.fail(req, res, 'DITO_ERR_INTERNAL'),
    );
  }

  /** Stops accepting, ends the event streams, and closes every connection within a second. */
  async close(): Promise<void> {
    this.events.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 1000);
    await closed;
    clearTimeout(timer);
    await this.authenticator?.close();
  }
}
