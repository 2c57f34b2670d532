// Go-syntax durations (`300ms`, `1m30s`) and byte sizes (`1048576`, `10MiB`) for the config.
// Parsing is strict: every refusal says what was wrong and what would have been accepted.

/** Milliseconds per unit, as Go's time.ParseDuration names them (µ is U+00B5, μ is U+03BC). */
const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Node's timers overflow past 2^31-1 ms (they then fire after 1 ms), so no duration may exceed it. */
export const MAX_DURATION_MS = 2_147_483_647;

/** Accepted spelling of a duration, for the JSON Schema (`0`, or one or more number+unit parts). */
export const DURATION_PATTERN = '^[+]?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$';

const COMPONENT = /([0-9]*)(\.[0-9]*)?([^0-9.]*)/y;

export type ParseResult = { ok: true; value: number } | { ok: false; message: string };

const durationHint = 'use Go syntax such as "300ms", "1.5s", "1m30s" or "2h45m"';

/** Parses a Go duration string into milliseconds (possibly fractional), without throwing. */
export function tryParseDuration(text: string): ParseResult {
  const bad = (why: string): ParseResult => ({
    ok: false,
    message: `invalid duration ${JSON.stringify(text)}: ${why}`,
  });
  let rest = text;
  if (rest.startsWith('-')) return bad('must not be negative');
  if (rest.startsWith('+')) rest = rest.slice(1);
  if (rest === '0') return { ok: true, value: 0 };
  if (rest === '') return bad(durationHint);
  let total = 0;
  let at = 0;
  while (at < rest.length) {
    COMPONENT.lastIndex = at;
    const match = COMPONENT.exec(rest);
    const [whole = '', digits = '', fraction = '', unit = ''] = match ?? [];
    if (whole === '' || (digits === '' && fraction.length <= 1)) return bad(durationHint);
    if (unit === '')
      return bad(`missing unit after "${digits}${fraction}" (valid units: ns, us, µs, ms, s, m, h)`);
    const unitMs = DURATION_UNITS_MS[unit];
    if (unitMs === undefined) return bad(`unknown unit "${unit}" (valid units: ns, us, µs, ms, s, m, h)`);
    total += Number(`${digits || '0'}${fraction === '.' ? '' : fraction}`) * unitMs;
    at += whole.length;
  }
  if (!Number.isFinite(total) || total > MAX_DURATION_MS) {
    return bad('too long (the limit is 596h31m23.647s, the longest timer Node.js can run)');
  }
  return { ok: true, value: total };
}

/** A duration as YAML gives it: a Go string, or the plain number 0. Other numbers lack a unit. */
export function tryParseDurationValue(value: string | number): ParseResult {
  if (typeof value === 'string') return tryParseDuration(value);
  if (value === 0) return { ok: true, value: 0 };
  if (value < 0) return { ok: false, message: `invalid duration ${value}: must not be negative` };
  return {
    ok: false,
    message: `a duration needs a unit: write "${value}s" or "${value}ms" (Go syntax), not the plain number ${value}`,
  };
}

/** Parses a Go duration (`1m30s`) into milliseconds; throws a RangeError naming the problem. */
export function parseDuration(text: string): number {
  const result = tryParseDuration(text);
  if (!result.ok) throw new RangeError(result.message);
  return result.value;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Accepted spelling of a size string, for the JSON Schema. */
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*([bB]|[kKmMgG][iI]?[bB])?$';
const SIZE_RE = new RegExp(SIZE_PATTERN);

/** Parses a size in bytes: an integer, or a string like `512`, `64KiB`, `10MB` (KB = 1000, KiB = 1024). */
export function tryParseSize(value: string | number): ParseResult {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return { ok: true, value };
    return { ok: false, message: `invalid size ${value}: expected a whole number of bytes` };
  }
  const bad = (why: string): ParseResult => ({
    ok: false,
    message: `invalid size ${JSON.stringify(value)}: ${why}`,
  });
  const match = SIZE_RE.exec(value.trim());
  if (!match)
    return bad('expected bytes as an integer, or a number with a unit B, KB, KiB, MB, MiB, GB or GiB');
  const amount = Number.parseFloat(value);
  const unit = value.trim().slice(value.trim().search(/[a-zA-Z]|$/));
  const bytes = amount * (SIZE_UNITS[unit.toLowerCase()] ?? 1);
  if (!Number.isSafeInteger(bytes)) return bad('not a whole number of bytes, or too large');
  return { ok: true, value: bytes };
}

/** Parses a size in bytes; throws a RangeError naming the problem. */
export function parseSize(value: string | number): number {
  const result = tryParseSize(value);
  if (!result.ok) throw new RangeError(result.message);
  return result.value;
}
