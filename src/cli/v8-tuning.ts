// V8 settings that can still be changed once the isolate runs, applied before any other module of
// the CLI is evaluated (the entry imports this first; cluster workers run the same entry). Settings
// that must be given at start (young generation size, memory reducer) are on the launcher's command
// line instead (bin/dito). Measurements: docs/benchmark.md items 8–9, docs/operations.md#memory.
import { setFlagsFromString } from 'node:v8';

/** V8 defaults Dito turns off. An operator who names one on Node's command line keeps it on. */
export const V8_DEFAULTS_TURNED_OFF = [
  /*
   * Allocation-site pretenuring. V8 watches the objects made at each allocation site (object and
   * array literals); when most of them outlive a young-generation collection, it allocates that
   * site's objects straight in the old generation from then on. For a proxy that decision is wrong
   * and feeds itself: a request's objects made at such a site sit in the old generation, the young
   * objects of the same request they point at then survive every young collection until the next
   * full one, the site looks long-lived again, and every request is promoted. With a request body
   * streamed to the upstream this set in within seconds (`--trace-pretenuring-statistics`: 11 sites
   * tenured), for Dito and for a bare node:http + undici forwarder alike. Node 20, POST 64 KiB × 32,
   * proxy on one core: 23 % of the allocated bytes promoted → 3 %, full collections 5 → 1 in 10 s,
   * peak RSS 149 → 123 MiB, 7–17 % less CPU per request (paired runs); GET 1 KiB, 100 KiB and
   * 1 MiB unchanged. Node 24: promoted 24 % → 8 %, peak RSS 181 → 161 MiB.
   */
  'allocation-site-pretenuring',
  /*
   * Concurrent array buffer sweeping: dead array buffers are then freed by a background task after
   * a young-generation collection rather than within it. Every socket read is a new 64 KiB buffer;
   * V8 counts them as external memory and, once that grows by ~64 MiB, runs a full collection. The
   * count dropped only when the background task had run, which on Node 24 under GET 1 MiB was often
   * too late: the process fell into full collections every ~50 ms and stayed there (4 of 6
   * ten-second runs: 76–145 full collections, 1,500–2,250 µs of CPU per request). Freed in the
   * collection: 0–9 full collections in 4 of 4 runs, ~850 µs per request; paired runs 1,554–1,901 →
   * 836–1,109 µs. GET 1 KiB, 100 KiB and POST 64 KiB unchanged on Node 24, all four unchanged on
   * Node 20 (paired runs).
   */
  'concurrent-array-buffer-sweeping',
] as const;

/** The `--no-…` flags to set for a process started with `execArgv`. */
export function v8FlagsToSet(execArgv: readonly string[]): string[] {
  return V8_DEFAULTS_TURNED_OFF.filter((name) => !execArgv.includes(`--${name}`)).map(
    (name) => `--no-${name}`,
  );
}

for (const flag of v8FlagsToSet(process.execArgv)) setFlagsFromString(flag);
