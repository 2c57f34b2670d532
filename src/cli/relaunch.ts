// Node flags that depend on the Node version and must be given at start. bin/dito's first line
// (`env -S … node <flags>`) is the same for every version and cannot branch, so on the versions that
// need more, bin/dito runs this first and it replaces the process with one started with them
// (`process.execve`: same pid, so tini, systemd and signal handling see no difference; no second
// Node process stays behind). Nothing of Dito is loaded before that.

/**
 * Node 24 (V8 13) and large bodies. V8 13 counts the external memory allocated since the last full
 * collection (Node's 64 KiB socket read buffers) against the old generation's limit, and after a
 * full collection under load it could set that limit only ~12 MiB above the heap: every ~12 MiB of
 * body read then started the next full collection. GET 1 MiB × 8: 100–150 full collections per
 * 10 s at ~1,250 instead of ~750 µs of CPU per request, in about half of the processes. Given at
 * start, this is also the lowest limit V8 may set: 0 full collections. V8 12 and older (Node 20, 22)
 * do not count external memory that way, and pay ~30 MiB of peak RSS for nothing (docs/operations.md#memory).
 */
export const OLD_SPACE_FLOOR_FLAG = '--initial-old-space-size=80';

/** The first V8 major whose heap limits need the floor. */
const FIRST_V8_NEEDING_FLOOR = 13;

/** Old-generation sizing an operator may choose on the command line or in NODE_OPTIONS; any of them wins. */
const OPERATOR_SIZING = /^--(?:initial|max)[-_]old[-_]space[-_]size(?:=|$)/;

/** The flags to restart this Node with, given its V8 version, its execArgv and NODE_OPTIONS. */
export function versionFlagsToAdd(
  v8Version: string,
  execArgv: readonly string[],
  nodeOptions = '',
): string[] {
  if (Number.parseInt(v8Version, 10) < FIRST_V8_NEEDING_FLOOR) return [];
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  return given.some((flag) => OPERATOR_SIZING.test(flag)) ? [] : [OLD_SPACE_FLOOR_FLAG];
}

/**
 * The young generation bin/dito's first line gives: 2 × 8 MiB, for Node 20 (V8 11), where it cost
 * GET 1 KiB ~5.5 % less CPU per request than 2 × 4 MiB (42.6 against 45.1 µs, medians of four 8 s
 * runs; peak RSS 87 → 94 MiB, bodies +2–3 MiB). Node 24 (V8 13) measured no gain from it (GET 1
 * KiB 40.6 against 40.4 µs) and up to 5 MiB more peak RSS, so the restart gives it
 * V8_13_SEMI_SPACE_FLAG instead (docs/benchmark.md item 24).
 */
export const LAUNCHER_SEMI_SPACE_FLAG = '--max-semi-space-size=8';
export const V8_13_SEMI_SPACE_FLAG = '--max-semi-space-size=4';

/**
 * The Node flags to restart this Node with (its whole new execArgv), or undefined when it runs as
 * it should: the old-generation floor added, and the launcher's young-generation size swapped,
 * on V8 13 and later. The launcher's flag is recognised by its exact text, so an operator's own
 * `--max-semi-space-size` of another value, or in NODE_OPTIONS, is kept.
 */
export function relaunchExecArgv(
  v8Version: string,
  execArgv: readonly string[],
  nodeOptions = '',
): string[] | undefined {
  if (Number.parseInt(v8Version, 10) < FIRST_V8_NEEDING_FLOOR) return undefined;
  const added = versionFlagsToAdd(v8Version, execArgv, nodeOptions);
  const launcherSemiSpace = execArgv.includes(LAUNCHER_SEMI_SPACE_FLAG);
  if (added.length === 0 && !launcherSemiSpace) return undefined;
  const kept = execArgv.map((flag) => (flag === LAUNCHER_SEMI_SPACE_FLAG ? V8_13_SEMI_SPACE_FLAG : flag));
  return [...added, ...kept];
}

type Execve = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never;

/**
 * Replaces this process with the same command and the Node flags its version needs, when they
 * differ from the ones it has. Returns, and Dito runs without them after a warning, where
 * `process.execve` is missing (Node < 22.15, Windows) or fails.
 */
export function relaunchWithVersionFlags(): void {
  const execArgv = relaunchExecArgv(process.versions.v8, process.execArgv, process.env.NODE_OPTIONS);
  if (execArgv === undefined) return;
  const node = process as NodeJS.Process & { execve?: Execve };
  try {
    if (typeof node.execve !== 'function') throw new Error('process.execve is not available on this Node');
    node.execve(process.execPath, [process.execPath, ...execArgv, ...process.argv.slice(1)], process.env);
  } catch (error) {
    const missing = execArgv.filter((flag) => !process.execArgv.includes(flag));
    process.stderr.write(`dito: running without ${missing.join(' ')}: ${(error as Error).message}\n`);
  }
}
