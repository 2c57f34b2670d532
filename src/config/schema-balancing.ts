// The zod schema of a location's upstream pool keys (extensions): `targets`, `load_balancing`,
// `health_check`, `outlier_detection`, `retries`, `circuit_breaker`. See docs/load-balancing.md.
import * as z from 'zod';
import { DURATION_HINT, durationField, HTTP_TOKEN, targetUrlField } from './schema-fields.js';

const positive = { error: 'must be more than 0' };

/** `200`, `"2xx"` or `"200-399"`: what a health check answer must be. */
const statusSpecField = () =>
  z.union([
    z.number().int().min(100).max(599),
    z.string().regex(/^([1-5]xx|[1-5][0-9]{2}-[1-5][0-9]{2})$/, {
      error: 'expected a status (200), a class ("2xx") or a range ("200-399")',
    }),
  ]);

const targetEntrySchema = z.union([
  targetUrlField(),
  z.strictObject({
    url: targetUrlField().describe('Upstream URL: http, https, ws or wss.'),
    weight: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1)
      .describe('Relative share of requests (round robin, random of two, hashing). Default 1.'),
  }),
]);

export const targetsField = () =>
  z
    .array(targetEntrySchema)
    .min(1)
    .describe(
      'Extension. Several upstreams for this location instead of `target_url`: URLs, or `{ url, weight }` objects.',
    );

export const loadBalancingSchema = z
  .strictObject({
    policy: z
      .enum(['round_robin', 'least_outstanding', 'random_two', 'hash'])
      .default('round_robin')
      .describe(
        '`round_robin` (weighted), `least_outstanding` (fewest requests in flight per weight), `random_two` (the better of two random picks), `hash` (consistent hashing on `hash_on`).',
      ),
    hash_on: z
      .string()
      .regex(
        new RegExp(
          `^(ip|header:${HTTP_TOKEN.source.slice(1, -1)}|cookie:${HTTP_TOKEN.source.slice(1, -1)})$`,
        ),
        {
          error: 'expected "ip", "header:<Header-Name>" or "cookie:<cookie-name>"',
        },
      )
      .optional()
      .describe(
        '`hash` policy: the client IP (`ip`), a request header (`header:<Name>`) or a cookie (`cookie:<name>`, set by Dito when absent: sticky sessions).',
      ),
  })
  .describe('Extension. How a request picks one of the `targets`.');

export const healthCheckSchema = z
  .strictObject({
    path: z
      .string()
      .regex(/^\/[^\s]*$/, { error: 'must start with "/" and contain no spaces' })
      .describe('Path (and query) requested with GET from each target.'),
    interval: durationField()
      .refine((ms) => ms > 0, positive)
      .prefault('10s')
      .describe('Time between two checks of a target. Default 10s.' + DURATION_HINT),
    timeout: durationField()
      .refine((ms) => ms > 0, positive)
      .prefault('2s')
      .describe('Limit for one check (connect to the end of the answer). Default 2s.' + DURATION_HINT),
    healthy_threshold: z
      .number()
      .int()
      .min(1)
      .default(2)
      .describe('Consecutive passing checks that bring a down target back. Default 2.'),
    unhealthy_threshold: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe('Consecutive failing checks that take a target down. Default 3.'),
    expected_status: z
      .union([statusSpecField(), z.array(statusSpecField()).min(1)])
      .default('200-399')
      .describe(
        'Answers that pass: a status, a class ("2xx"), a range ("200-399") or a list. Default 200-399.',
      ),
  })
  .describe('Extension. Active health checks of every target of the location.');

export const outlierDetectionSchema = z
  .strictObject({
    consecutive_failures: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe(
        'Connect errors, resets, timeouts or 5xx answers in a row that eject a target; 0 = off. Default 5.',
      ),
    base_ejection_time: durationField()
      .refine((ms) => ms > 0, positive)
      .prefault('30s')
      .describe('First ejection time; each new ejection doubles it. Default 30s.' + DURATION_HINT),
    max_ejection_time: durationField()
      .refine((ms) => ms > 0, positive)
      .prefault('5m')
      .describe('Longest ejection time. Default 5m.' + DURATION_HINT),
  })
  .describe('Extension. Passive outlier ejection from the answers of real requests.');

export const RETRY_CONDITIONS = ['connect_failure', 'reset', 'timeout', 502, 503, 504] as const;

export const retriesSchema = z
  .strictObject({
    attempts: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(2)
      .describe(
        'Retries after the first try (each on another target when there is one); 0 = none. Default 2.',
      ),
    timeout: durationField()
      .prefault(0)
      .describe(
        'No retry starts later than this after the request arrived; 0 = only `request_timeout` bounds them.' +
          DURATION_HINT,
      ),
    on: z
      .array(z.union([z.enum(['connect_failure', 'reset', 'timeout']), z.literal([502, 503, 504])]))
      .default(['connect_failure', 'reset', 503])
      .describe(
        'What is retried: `connect_failure` (any method), and for idempotent requests without a body only: `reset`, `timeout` (response_header_timeout), 502, 503, 504.',
      ),
  })
  .describe('Extension. Retries of failed upstream requests.');

export const circuitBreakerSchema = z
  .strictObject({
    max_requests: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'Requests in flight to one target; over it the target is skipped (503 if all are full). 0 = no limit.',
      ),
    max_pending: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Requests queued for a connection to one target (with `max_conns_per_host`); 0 = no limit.'),
  })
  .describe('Extension. Per-target limits of concurrent and queued requests.');

/** The pool keys of a location, spread into the location schema. */
export function balancingFields() {
  return {
    targets: targetsField().optional(),
    load_balancing: loadBalancingSchema.optional(),
    health_check: healthCheckSchema.optional(),
    outlier_detection: outlierDetectionSchema.optional(),
    retries: retriesSchema.optional(),
    circuit_breaker: circuitBreakerSchema.optional(),
  };
}
