// Per-target metrics of upstream pools: attempts, retries, failures by kind, latency, ejections
// and an up/down gauge, under the labels `path` (the location pattern) and `target` (its label).
import type { TargetMetrics, UpstreamFailureKind } from './metrics-recorder.js';
import type {
  CounterSeries,
  DeferredCounter,
  DeferredHistogram,
  GaugeFamily,
  HistogramSeries,
  MetricsRegistry,
} from './prometheus-client.js';

const FAILURE_KINDS: UpstreamFailureKind[] = ['connect', 'timeout', 'reset', 'tls', 'protocol', 'other'];

export interface TargetFamilies {
  up: GaugeFamily;
  requests: DeferredCounter;
  retries: DeferredCounter;
  errors: DeferredCounter;
  duration: DeferredHistogram;
  ejections: DeferredCounter;
}

export function targetFamilies(registry: MetricsRegistry, buckets: readonly number[]): TargetFamilies {
  return {
    up: registry.gauge(
      'dito_upstream_target_up',
      'Whether a pool target is in service (1) or out by health checks or ejection (0).',
      ['path', 'target'],
      undefined,
      // Cluster mode: each worker judges targets on its own; 1 only while every worker uses it.
      'min',
    ),
    requests: registry.counter(
      'dito_upstream_target_requests_total',
      'Attempts sent to a pool target (retries included).',
      ['path', 'target'],
    ),
    retries: registry.counter(
      'dito_upstream_target_retries_total',
      'Attempts sent to a pool target that retried a failed attempt.',
      ['path', 'target'],
    ),
    errors: registry.counter(
      'dito_upstream_target_errors_total',
      'Failed attempts on a pool target: connect, timeout, reset, tls, protocol, other, or status_5xx.',
      ['path', 'target', 'kind'],
    ),
    duration: registry.histogram(
      'dito_upstream_target_duration_seconds',
      'Time from dispatching an attempt to a pool target to its response headers.',
      buckets,
    ),
    ejections: registry.counter(
      'dito_upstream_target_ejections_total',
      'Times passive outlier detection ejected a pool target.',
      ['path', 'target'],
    ),
  };
}

/** One (location, target) pair; shared by every runtime whose pool names it. */
export class TargetSeries implements TargetMetrics {
  private readonly labels: { path: string; target: string };
  private readonly requests: CounterSeries;
  private readonly retries: CounterSeries;
  private readonly errors: Record<UpstreamFailureKind | 'status_5xx', CounterSeries>;
  private readonly duration: HistogramSeries;
  private readonly ejections: CounterSeries;
  /** Pools holding this handle: the `up` series is dropped when the last one is retired. */
  holders = 0;

  constructor(
    private readonly families: TargetFamilies,
    path: string,
    target: string,
  ) {
    const labels = (this.labels = { path, target });
    this.requests = families.requests.series(labels, true);
    this.retries = families.retries.series(labels);
    const kinds = [...FAILURE_KINDS, 'status_5xx'] as const;
    this.errors = Object.fromEntries(
      kinds.map((kind) => [kind, families.errors.series({ ...labels, kind })]),
    ) as Record<UpstreamFailureKind | 'status_5xx', CounterSeries>;
    this.duration = families.duration.series(labels);
    this.ejections = families.ejections.series(labels);
  }

  attempt(retry: boolean): void {
    this.requests.pending++;
    if (retry) this.retries.pending++;
  }

  responded(status: number, ms: number): void {
    this.duration.observe(ms / 1000);
    if (status >= 500) this.errors.status_5xx.pending++;
  }

  failed(kind: UpstreamFailureKind): void {
    this.errors[kind].pending++;
  }

  available(up: boolean): void {
    this.families.up.set(up ? 1 : 0, this.labels);
  }

  ejected(): void {
    this.ejections.pending++;
  }

  release(): void {
    if (--this.holders === 0) this.families.up.remove(this.labels);
  }
}
