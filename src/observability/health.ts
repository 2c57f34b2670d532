// Liveness and readiness endpoints for probes and load balancers: the process's phase (starting,
// ready, draining) and, when the config makes Redis required, the Redis connection's state.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DitoConfig, HealthConfig } from '../config/types.js';
import { sendError } from '../proxy/errors.js';
import { requestIdFrom } from '../proxy/request-id.js';

export type HealthPhase = 'starting' | 'ready' | 'draining';

/** What readiness needs to know of the Redis connection (satisfied by `RedisHandle`). */
export interface RedisStatus {
  /** e.g. `connecting`, `ready`, `degraded`, `reconnecting`, `closed`. */
  readonly state: string;
  /** Commands are expected to work now. */
  readonly ready: boolean;
}

export interface Readiness {
  ready: boolean;
  status: HealthPhase | 'not_ready';
  checks: Record<string, string>;
}

/** The server surface the endpoints are installed on (`DitoServer`). */
export interface LocalHandlerHost {
  addLocalHandler(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  removeLocalHandler(path: string): void;
  /** The listener began draining (whoever started it). */
  readonly isDraining?: boolean;
}

/**
 * Redis is required when a location rate-limits through it and refuses requests without it
 * (`rate-limiter-redis` with `failure_mode: closed`): without Redis that location answers 429 to
 * everyone, so this instance should get no traffic. A fail-open limiter or the cache keep serving
 * without Redis, so they never make Dito unready.
 */
export function redisRequired(config: DitoConfig): boolean {
  if (!config.redis.enabled) return false;
  return config.locations.some(
    (location) =>
      location.middlewares.includes('rate-limiter-redis') &&
      location.rateLimiting.enabled &&
      location.rateLimiting.failureMode === 'closed',
  );
}

export class Health {
  private phase: HealthPhase = 'starting';
  private redisEverReady = false;
  private installed: { host: LocalHandlerHost; paths: string[] } | undefined;

  /**
   * @param config the running config (read on every probe: a reload may change the rule)
   * @param redis the current Redis connection, if any (read on every probe: a reload may replace it)
   */
  constructor(
    private readonly config: () => DitoConfig,
    private readonly redis: () => RedisStatus | undefined = () => undefined,
  ) {}

  get currentPhase(): HealthPhase {
    return this.phase;
  }

  /** Startup finished: plugins loaded, runtime built, listener open. */
  markReady(): void {
    if (this.phase === 'starting') this.phase = 'ready';
  }

  /** SIGTERM/SIGINT received: readiness fails from now on; liveness stays up while draining. */
  markDraining(): void {
    this.phase = 'draining';
  }

  readiness(): Readiness {
    const checks: Record<string, string> = {};
    let dependenciesReady = true;
    if (redisRequired(this.config())) {
      const redis = this.redis();
      const state = redis?.state ?? 'absent';
      checks.redis = state;
      if (redis?.ready === true) this.redisEverReady = true;
      else dependenciesReady = false;
    }
    if (this.installed?.host.isDraining === true) this.phase = 'draining';
    if (this.phase !== 'ready') return { ready: false, status: this.phase, checks };
    if (dependenciesReady) return { ready: true, status: 'ready', checks };
    // A required Redis that never answered yet is still part of starting up.
    return { ready: false, status: this.redisEverReady ? 'not_ready' : 'starting', checks };
  }

  /** Installs (or moves, after a reload) the endpoints on `host` as the config says. */
  install(host: LocalHandlerHost, settings: HealthConfig): void {
    if (this.installed !== undefined) {
      for (const path of this.installed.paths) this.installed.host.removeLocalHandler(path);
      this.installed = undefined;
    }
    if (!settings.enabled) return;
    host.addLocalHandler(settings.livenessPath, (req, res) => this.answerLiveness(req, res));
    host.addLocalHandler(settings.readinessPath, (req, res) => this.answerReadiness(req, res));
    this.installed = { host, paths: [settings.livenessPath, settings.readinessPath] };
  }

  private answerLiveness(req: IncomingMessage, res: ServerResponse): void {
    // The event loop turned and answered: that is what liveness asks. Draining is still alive.
    send(req, res, 200, { status: 'alive', phase: this.phase });
  }

  private answerReadiness(req: IncomingMessage, res: ServerResponse): void {
    const readiness = this.readiness();
    send(req, res, readiness.ready ? 200 : 503, { status: readiness.status, checks: readiness.checks });
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: object): void {
  // Probes never send a body; whatever came is discarded rather than left in the socket.
  req.resume();
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendError(
      res,
      'DITO_ERR_METHOD_NOT_ALLOWED',
      requestIdFrom(req.headers['x-request-id'] as string | undefined),
    );
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    // A cached "ready" would hide a drain from whatever sits between the prober and us.
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
