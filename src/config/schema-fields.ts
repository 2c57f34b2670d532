// Reusable zod field types of the config schema: durations, sizes, ports, header names and values,
// upstream URLs, IPs. Each one validates, explains a refusal, and shows its syntax in the JSON Schema.
import { isIP } from 'node:net';
import * as z from 'zod';
import {
  DURATION_PATTERN,
  SIZE_PATTERN,
  tryParseDuration,
  tryParseDurationValue,
  tryParseSize,
} from './duration.js';

const DURATION_RE = new RegExp(DURATION_PATTERN);

/** A Go duration (`300ms`, `1m30s`) or the plain number 0; parsed to milliseconds. */
export function durationField() {
  const zeroOnly = (issue: { input?: unknown }) => {
    const parsed = tryParseDurationValue(Number(issue.input));
    return parsed.ok ? undefined : parsed.message;
  };
  return z
    .union([
      z.string().regex(DURATION_RE, { error: (issue) => badMessage(tryParseDuration(String(issue.input))) }),
      z.number().min(0, { error: zeroOnly }).max(0, { error: zeroOnly }),
    ])
    .transform((value, ctx) => {
      const parsed = tryParseDurationValue(value);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: 'custom', message: parsed.message, input: value });
      return z.NEVER;
    });
}

function badMessage(result: { ok: boolean; message?: string }): string | undefined {
  return result.ok ? undefined : result.message;
}

/** A size in bytes: an integer, or a string with a unit (`64KiB`, `10MB`). */
export function sizeField() {
  return z
    .union([
      z.number().int().min(0),
      z
        .string()
        .regex(new RegExp(SIZE_PATTERN), { error: (issue) => badMessage(tryParseSize(String(issue.input))) }),
    ])
    .transform((value, ctx) => {
      const parsed = tryParseSize(value);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: 'custom', message: parsed.message, input: value });
      return z.NEVER;
    });
}

/** A TCP port as a number or a numeric string (the original wrote `port: '8081'`). */
export function portField() {
  return z
    .union([
      z.number().int().min(0).max(65535),
      z
        .string()
        .regex(/^[0-9]{1,5}$/, { error: (issue) => `expected a port number 0-65535, got "${issue.input}"` }),
    ])
    .transform((value, ctx) => {
      const port = Number(value);
      if (port <= 65535) return port;
      ctx.addIssue({ code: 'custom', message: `must be at most 65535, got ${port}`, input: value });
      return z.NEVER;
    });
}

/** RFC 9110 `token`: the characters a header name may use. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function headerNameField() {
  return z.string().regex(HTTP_TOKEN, {
    error: (issue) =>
      `invalid header name ${JSON.stringify(issue.input)}: only letters, digits and !#$%&'*+-.^_\`|~ are allowed`,
  });
}

/** Header values may be written as numbers or booleans (`X-Version: 2`); they are sent as text. */
export function headerValueField() {
  return z
    .union([z.string(), z.number(), z.boolean()])
    .transform(String)
    .pipe(
      z.string().refine((value) => !/[\r\n\0]/.test(value), {
        error: 'header value must not contain CR, LF or NUL (they would split or corrupt the request)',
      }),
    );
}

const UPSTREAM_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:']);

/** The upstream URL of a location: http, https, ws or wss, with a host. */
export function targetUrlField() {
  return z
    .string()
    .regex(/^(https?|wss?):\/\//i, { error: (issue) => urlProblem(String(issue.input)) })
    .transform((value, ctx) => {
      const problem = urlProblem(value);
      if (problem === undefined) return new URL(value);
      ctx.addIssue({ code: 'custom', message: problem, input: value });
      return z.NEVER;
    });
}

function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `invalid URL ${JSON.stringify(value)}: expected e.g. "http://127.0.0.1:8080/api"`;
  }
  if (!UPSTREAM_SCHEMES.has(url.protocol)) {
    return `unsupported scheme "${url.protocol.slice(0, -1)}": use http, https, ws or wss`;
  }
  if (url.hostname === '') return `invalid URL ${JSON.stringify(value)}: no host`;
  return undefined;
}

/** An IP address or a CIDR range (`10.0.0.0/8`, `::1`, `fd00::/8`). */
export function isIpOrCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash === -1) return isIP(value) !== 0;
  const family = isIP(value.slice(0, slash));
  const bits = value.slice(slash + 1);
  if (family === 0 || !/^[0-9]{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** A lower- or upper-case SHA-256 hex digest. */
export function sha256HexField() {
  return z.string().regex(/^[0-9a-fA-F]{64}$/, {
    error: (issue) => `expected a SHA-256 hex digest (64 hex characters), got ${JSON.stringify(issue.input)}`,
  });
}

/** Appended to the description of every duration and size key (editor hover text). */
export const DURATION_HINT = ' Go duration: `500ms`, `1.5s`, `1m30s`, `2h`; plain `0` allowed.';
export const SIZE_HINT =
  ' Bytes: an integer, or a string such as `64KiB`, `10MB` (1000-based) or `10MiB` (1024-based).';
