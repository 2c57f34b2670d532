// V8 settings that can still be changed once the isolate runs, applied before any other module of
// the CLI is evaluated (the entry imports this first; cluster workers run the same entry), and on
// Node 20 undici's parser compiled ahead. Settings that must be given at start (young generation
// size, memory reducer) are on the launcher's command line instead (bin/dito). Measurements:
// docs/benchmark.md items 8–9, 13 and 15, docs/operations.md#memory.
import { createRequire } from 'node:module';
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

/*
 * Node 20 (V8 11): WebAssembly stays on V8's baseline compiler (Liftoff). undici's HTTP parser
 * (llhttp) is one large WebAssembly function; about a second into the first load V8 recompiled it
 * with its optimizing compiler, whose register allocator took 21–32 MiB for that moment
 * (`--turbo-stats-wasm`), and that moment set the process's peak RSS under every load: GET 1 KiB
 * 121 → 89 MiB, GET 1 MiB 129–140 → 93–94 MiB, POST 64 KiB 127–129 → 97–98 MiB (with the pacer and
 * arena settings of docs/operations.md#memory). The price is a slower parser: GET 1 KiB +1.6 %
 * instructions per request (callgrind), +3.9 % CPU (three interleaved pairs); bodies unchanged. It
 * also spares the compile itself (~0.5 G instructions) and the 60–80 ms p99 stall of the first
 * seconds of load. V8 13 (Node 24) keeps tiering up: its compile of the parser takes ~23 MiB too,
 * but there `--liftoff-only` saved only 5–6 MiB of GET 1 KiB's peak RSS for +1–3 % CPU, and V8 13
 * has no mid-tier register allocator for the compile ahead below (docs/benchmark.md, 2026-12-07).
 * V8 12 (Node 22) was not measured and keeps V8's default. `--no-liftoff-only` keeps it everywhere.
 * The parser itself gets its optimized code anyway, compiled ahead at start (below).
 */
const BASELINE_WASM_ONLY = 'liftoff-only';
const LAST_V8_WITH_WASM_COMPILE_SPIKE = 11;

/** Whether the operator set `name` (either way) on Node's command line. */
function isNamed(execArgv: readonly string[], name: string): boolean {
  return execArgv.includes(`--${name}`) || execArgv.includes(`--no-${name}`);
}

/** Whether WebAssembly stays on Liftoff (see above) in a process started with `execArgv`. */
function keepsWasmOnBaseline(execArgv: readonly string[], v8Version: string): boolean {
  return (
    Number.parseInt(v8Version, 10) <= LAST_V8_WITH_WASM_COMPILE_SPIKE &&
    !isNamed(execArgv, BASELINE_WASM_ONLY)
  );
}

/** The flags to set for a process started with `execArgv` on V8 `v8Version`. */
export function v8FlagsToSet(execArgv: readonly string[], v8Version = process.versions.v8): string[] {
  const flags = V8_DEFAULTS_TURNED_OFF.filter((name) => !isNamed(execArgv, name)).map(
    (name) => `--no-${name}`,
  );
  if (keepsWasmOnBaseline(execArgv, v8Version)) flags.push(`--${BASELINE_WASM_ONLY}`);
  return flags;
}

/*
 * Where WebAssembly stays on Liftoff, undici's parser is compiled ahead with the optimizing
 * compiler, first thing at start while the process is small: every function at once (not lazily
 * at its first call, nor tiered up under load) and with V8's mid-tier register allocator, whose
 * compile peaks at 7 MiB instead of 21–32. V8 keeps compiled modules by their bytes while one of
 * them lives, so undici, compiling the same bytes at its first connection, gets this module's
 * optimized code (no Liftoff compile follows; test/unit/v8-tuning.test.ts checks it). Node 20,
 * GET 1 KiB × 64, proxy on one core, ten interleaved pairs: −2.0 % CPU per request (median;
 * 0.952–1.014). Peak RSS: POST 64 KiB and GET 1 MiB unchanged (socket buffers reuse the memory
 * the compile freed), idle and GET 1 KiB +3–4 MiB. Start-up: +50–70 ms.
 */
const PARSER_COMPILE_SETTINGS: ReadonlyArray<readonly [flag: string, during: boolean]> = [
  ['wasm-lazy-compilation', false],
  ['liftoff', false],
  ['wasm-dynamic-tiering', false],
  ['turbo-force-mid-tier-regalloc', true],
];

/** undici's parser modules in the order undici tries them (SIMD first, unless told not to). */
const PARSER_FILES =
  process.env.UNDICI_NO_WASM_SIMD === '1' || process.arch === 'ppc64'
    ? ['llhttp-wasm.js']
    : ['llhttp_simd-wasm.js', 'llhttp-wasm.js'];

/**
 * The flags to set around the parser's compile, and back afterwards; undefined where it is not
 * compiled ahead. Flags the operator named are left as they are.
 */
export function parserCompileFlags(
  execArgv: readonly string[],
  v8Version = process.versions.v8,
): { during: string[]; after: string[] } | undefined {
  if (!keepsWasmOnBaseline(execArgv, v8Version)) return undefined;
  const settings = PARSER_COMPILE_SETTINGS.filter(([flag]) => !isNamed(execArgv, flag));
  const flag = (name: string, on: boolean) => (on ? `--${name}` : `--no-${name}`);
  return {
    during: settings.map(([name, during]) => flag(name, during)),
    after: settings.map(([name, during]) => flag(name, !during)),
  };
}

/** WebAssembly's one constructor used here (TypeScript's lib for Node leaves the namespace out). */
const { WebAssembly } = globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object };
};

/** Held for the life of the process: V8 shares the compiled parser with undici only while it lives. */
let parserCompiledAhead: object | undefined;

/** Whether this process compiled undici's parser ahead (see above). */
export function isParserCompiledAhead(): boolean {
  return parserCompiledAhead !== undefined;
}

function compileParserAhead(flags: { during: string[]; after: string[] }): void {
  const require = createRequire(import.meta.url);
  for (const flag of flags.during) setFlagsFromString(flag);
  try {
    for (const file of PARSER_FILES) {
      try {
        parserCompiledAhead = new WebAssembly.Module(require(`undici/lib/llhttp/${file}`) as Buffer);
        break;
      } catch {
        // Not this one (no SIMD here, or an undici without the file): undici then compiles its own.
      }
    }
  } finally {
    for (const flag of flags.after) setFlagsFromString(flag);
  }
}

const parserFlags = parserCompileFlags(process.execArgv);
if (parserFlags !== undefined) compileParserAhead(parserFlags);
for (const flag of v8FlagsToSet(process.execArgv)) setFlagsFromString(flag);
