// Active health checks of one target: a GET of `health_check.path` every `interval`, the verdict
// flipped after `unhealthy_threshold` failures or `healthy_threshold` passes in a row. One checker
// per target state, so a reload that keeps the target keeps its timer and its counts.
import type { Dispatcher } from 'undici';
import type { HealthCheckConfig } from '../config/types.js';
import type { TargetState } from './target-state.js';

export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private passes = 0;
  private failures = 0;

  /**
   * `dispatcher`: the target's connection pool; a newer runtime hands its own (the same pool
   * when the transport did not change) through `useDispatcher`.
   */
  constructor(
    private readonly state: TargetState,
    private readonly settings: HealthCheckConfig,
    private dispatcher: Dispatcher,
  ) {}

  useDispatcher(dispatcher: Dispatcher): void {
    this.dispatcher = dispatcher;
  }

  /** Checks at once (a target that is down at start is found within one timeout), then every interval. */
  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.run(), delayMs);
    // Checks never keep the process alive on their own.
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    const passed = await this.probe();
    if (this.stopped) return;
    const { state, settings } = this;
    if (passed) {
      this.passes++;
      this.failures = 0;
      state.checkPassed();
      if (!state.healthy && this.passes >= settings.healthyThreshold) state.setHealthy(true);
    } else {
      this.failures++;
      this.passes = 0;
      if (state.healthy && this.failures >= settings.unhealthyThreshold) state.setHealthy(false);
    }
    this.schedule(settings.intervalMs);
  }

  /** One check: the answer's status is expected, within the timeout (body read and dropped). */
  private async probe(): Promise<boolean> {
    const { timeoutMs, path, expectedStatus } = this.settings;
    try {
      const { statusCode, body } = await this.dispatcher.request({
        path,
        method: 'GET',
        headers: { 'user-agent': 'dito-health-check' },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await body.dump({ limit: 64 * 1024, signal: AbortSignal.timeout(timeoutMs) });
      return expectedStatus.some((range) => statusCode >= range.min && statusCode <= range.max);
    } catch {
      return false;
    }
  }
}
