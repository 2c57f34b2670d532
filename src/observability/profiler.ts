// `--enable-profiler`: a debug listener on 127.0.0.1:6060 serving a CPU profile
// (`/debug/pprof/profile?seconds=N`, a V8 `.cpuprofile`) and a heap snapshot (`/debug/pprof/heap`),
// both taken in-process through node:inspector. One capture at a time; loopback only.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import { sendError } from '../proxy/errors.js';
import { requestIdFrom } from '../proxy/request-id.js';
import type { Logger } from './logger.js';

export const PROFILER_HOST = '127.0.0.1';
export const PROFILER_PORT = 6060;
/** Go's pprof default when `seconds` is absent. */
const DEFAULT_PROFILE_SECONDS = 30;
/** Longer captures hold the V8 profiler (and the HTTP request) open for little gain. */
const MAX_PROFILE_SECONDS = 300;

const INDEX = `Dito profiler
/debug/pprof/profile?seconds=N  CPU profile over N seconds (default ${DEFAULT_PROFILE_SECONDS}, at most ${MAX_PROFILE_SECONDS}): a V8 .cpuprofile
/debug/pprof/heap               heap snapshot: a V8 .heapsnapshot (pauses the process while it is taken)
Open either in Chrome DevTools (Performance or Memory tab: Load) or in VS Code.
`;

export interface ProfilerOptions {
  logger: Logger;
  host?: string;
  port?: number;
}

export class Profiler {
  private busy = false;
  private readonly sessions = new Set<Session>();

  private constructor(
    private readonly server: Server,
    private readonly logger: Logger,
  ) {}

  /** Starts the debug listener; rejects if the address is taken. */
  static async start(options: ProfilerOptions): Promise<Profiler> {
    const server = createServer();
    const profiler = new Profiler(server, options.logger);
    server.on('request', (req, res) => profiler.handle(req, res));
    server.listen(options.port ?? PROFILER_PORT, options.host ?? PROFILER_HOST);
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => Promise.reject(err as Error)),
    ]);
    return profiler;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.disconnect();
    const closed = new Promise((resolve) => this.server.close(resolve));
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const requestId = requestIdFrom(req.headers['x-request-id'] as string | undefined);
    const url = new URL(req.url ?? '/', 'http://profiler');
    if (req.method !== 'GET') {
      sendError(res, 'DITO_ERR_METHOD_NOT_ALLOWED', requestId, undefined, { allow: 'GET' });
      return;
    }
    const route = url.pathname.replace(/\/+$/, '');
    if (route === '/debug/pprof') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(INDEX);
      return;
    }
    if (route !== '/debug/pprof/profile' && route !== '/debug/pprof/heap') {
      sendError(res, 'DITO_ERR_NOT_FOUND', requestId, { path: url.pathname });
      return;
    }
    let seconds = DEFAULT_PROFILE_SECONDS;
    if (route === '/debug/pprof/profile' && url.searchParams.has('seconds')) {
      seconds = Number(url.searchParams.get('seconds'));
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_PROFILE_SECONDS) {
        sendError(res, 'DITO_ERR_BAD_REQUEST', requestId, {
          reason: `seconds must be a number in (0, ${MAX_PROFILE_SECONDS}]`,
        });
        return;
      }
    }
    if (this.busy) {
      sendError(
        res,
        'DITO_ERR_UNAVAILABLE',
        requestId,
        { reason: 'a capture is already running' },
        {
          'retry-after': '1',
        },
      );
      return;
    }
    this.busy = true;
    const session = new Session();
    session.connect();
    this.sessions.add(session);
    const capture =
      route === '/debug/pprof/heap'
        ? this.heapSnapshot(session, res)
        : this.cpuProfile(session, res, seconds);
    capture
      .catch((err: unknown) => {
        this.logger.error({ err, capture: route }, 'profiler capture failed');
        sendError(res, 'DITO_ERR_INTERNAL', requestId);
      })
      .finally(() => {
        this.busy = false;
        this.sessions.delete(session);
        session.disconnect();
      });
  }

  private async cpuProfile(session: Session, res: ServerResponse, seconds: number): Promise<void> {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    this.logger.info({ seconds }, 'CPU profile started');
    // A client that leaves ends the capture early: the profiler never runs unobserved.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      res.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const { profile } = await session.post('Profiler.stop');
    await session.post('Profiler.disable');
    if (res.destroyed) return;
    const body = JSON.stringify(profile);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'content-disposition': `attachment; filename="dito-${fileStamp()}.cpuprofile"`,
      'cache-control': 'no-store',
    });
    res.end(body);
  }

  private async heapSnapshot(session: Session, res: ServerResponse): Promise<void> {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-disposition': `attachment; filename="dito-${fileStamp()}.heapsnapshot"`,
      'cache-control': 'no-store',
    });
    // Chunks go straight to the socket instead of being joined into one large string first.
    session.on('HeapProfiler.addHeapSnapshotChunk', (message) => {
      if (!res.destroyed) res.write(message.params.chunk);
    });
    this.logger.info('heap snapshot started');
    await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    res.end();
  }
}

function fileStamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}
