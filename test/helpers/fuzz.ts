// Time budgets for property fuzzers: a few seconds each in `make test`, longer in `make fuzz`
// (which sets FUZZ_SECONDS, e.g. 60). fast-check stops at the budget and reports what it ran.
// FUZZ_SEED replays a failure: fast-check prints the seed with every counterexample.

/** Milliseconds a fuzzer may run: FUZZ_SECONDS when set, else the given default. */
export function fuzzTimeMs(defaultMs: number): number {
  const seconds = Number(process.env.FUZZ_SECONDS);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : defaultMs;
}

/** Upper bound on runs: effectively unlimited under a FUZZ_SECONDS budget, bounded otherwise. */
export function fuzzRuns(defaultRuns: number): number {
  return process.env.FUZZ_SECONDS ? 100_000_000 : defaultRuns;
}

/** `{ seed }` when FUZZ_SEED is set, so that a reported failure's inputs can be generated again. */
export function fuzzSeed(): { seed?: number } {
  const seed = Number(process.env.FUZZ_SEED);
  return process.env.FUZZ_SEED && Number.isInteger(seed) ? { seed } : {};
}
