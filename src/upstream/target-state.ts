// What Dito knows about one upstream target beyond a single request: requests in flight, the
// active health verdict, passive ejection with its growing backoff. Shared by every pool (and
// every runtime, across hot reloads) that names the same target with the same settings.
import type { OutlierDetectionConfig } from '../config/types.js';

export type StateListener = (state: TargetState) => void;

export class TargetState {
  /** Requests sent to this target and not finished (least outstanding, circuit breaking). */
  outstanding = 0;
  /** Active health checks' verdict (true until checks say otherwise). */
  healthy = true;
  /** Passive ejection in force. */
  ejected = false;
  /** `healthy && !ejected`: what selection reads (one field, no clock read per request). */
  available = true;
  /** Passive: failures in a row since the last success. */
  consecutiveFailures = 0;
  /** Ejections in a row without a success in between: the backoff exponent. */
  ejections = 0;
  /** Back from an ejection and not yet proven: one failure ejects again. */
  probation = false;
  private ejectionTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<StateListener>();
  /** Runs when the last user releases the state (stops its health checker). */
  onDispose: (() => void) | undefined;

  constructor(
    readonly key: string,
    private readonly outlier: OutlierDetectionConfig | undefined,
  ) {}

  subscribe(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setHealthy(healthy: boolean): void {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    this.update();
  }

  /**
   * An active health check passed: an ejected target is let back at once (as Envoy does by
   * default), so a restarted backend is not kept out for the rest of a long backoff.
   */
  checkPassed(): void {
    if (!this.ejected) return;
    if (this.ejectionTimer !== undefined) clearTimeout(this.ejectionTimer);
    this.endEjection();
  }

  /** A request to this target got an answer below 500. */
  recordSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.probation) {
      this.probation = false;
      this.ejections = 0;
    }
  }

  /**
   * A request failed (connect error, reset, timeout, 5xx). Returns true when this ejects the
   * target; `mayEject` is false when the pool has nowhere else to send requests.
   */
  recordFailure(mayEject: boolean): boolean {
    const outlier = this.outlier;
    this.consecutiveFailures++;
    if (outlier === undefined || this.ejected || !mayEject) return false;
    if (!this.probation && this.consecutiveFailures < outlier.consecutiveFailures) return false;
    this.eject(outlier);
    return true;
  }

  private eject(outlier: OutlierDetectionConfig): void {
    // 30 s, 60 s, 120 s, ... up to the maximum: a target that keeps failing is tried less often.
    const time = Math.min(
      outlier.baseEjectionTimeMs * 2 ** Math.min(this.ejections, 30),
      outlier.maxEjectionTimeMs,
    );
    this.ejections++;
    this.ejected = true;
    this.probation = false;
    this.consecutiveFailures = 0;
    this.ejectionTimer = setTimeout(this.endEjection, time);
    this.ejectionTimer.unref();
    this.update();
  }

  private readonly endEjection = (): void => {
    this.ejectionTimer = undefined;
    this.ejected = false;
    // Probed back by real traffic: the next answer decides whether the backoff resets.
    this.probation = true;
    this.update();
  };

  private update(): void {
    const available = this.healthy && !this.ejected;
    if (available === this.available) return;
    this.available = available;
    for (const listener of this.listeners) listener(this);
  }

  /** Stops timers; called once no pool uses this state any more. */
  dispose(): void {
    if (this.ejectionTimer !== undefined) clearTimeout(this.ejectionTimer);
    this.ejectionTimer = undefined;
    this.listeners.clear();
    this.onDispose?.();
  }
}

interface Held {
  state: TargetState;
  users: number;
}

const CARRY_KEY = 'upstream:target-states';

/**
 * Target states by key, kept in the runtime's `carry` map so that a reload's new runtime takes
 * over the states (and their health-check timers) of targets it keeps. Counted: a state is
 * disposed when the last runtime holding it releases it.
 */
export class TargetStates {
  private readonly held: Map<string, Held>;

  constructor(carry: Map<string, unknown>) {
    let held = carry.get(CARRY_KEY) as Map<string, Held> | undefined;
    if (held === undefined) {
      held = new Map();
      carry.set(CARRY_KEY, held);
    }
    this.held = held;
  }

  /** The state for `key` (created by `create` when new); the caller must `release` it later. */
  acquire(key: string, create: () => TargetState): { state: TargetState; created: boolean } {
    let entry = this.held.get(key);
    const created = entry === undefined;
    if (entry === undefined) {
      entry = { state: create(), users: 0 };
      this.held.set(key, entry);
    }
    entry.users++;
    return { state: entry.state, created };
  }

  release(state: TargetState): void {
    const entry = this.held.get(state.key);
    if (entry === undefined || entry.state !== state) return;
    entry.users--;
    if (entry.users > 0) return;
    this.held.delete(state.key);
    state.dispose();
  }
}
