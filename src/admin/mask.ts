// The running config as the admin API shows it: the effective (defaults applied) `DitoConfig`
// turned back into snake_case JSON, with every secret replaced by "<masked>" — Redis and sentinel
// passwords, JWT secrets, basic-auth hashes, API key hashes, admin tokens, credentials in URLs and
// in credential-bearing `additional_headers` (the rules of ../config/secrets.ts, shared with
// `debug-config`). The plugin public key hash is not a secret.
import { SECRET_HEADER, SECRET_KEYS } from '../config/secrets.js';
import type { DitoConfig } from '../config/types.js';

export const MASKED = '<masked>';

/** Keys whose value is a map of name → secret: the names are shown, the values masked. */
const SECRET_MAPS = new Set(['users']);
/** Keys whose value is a map with user-chosen names: the names are kept verbatim (not snake_cased). */
const VERBATIM_MAPS = new Set(['users', 'forwardClaims', 'additionalHeaders']);
/** Internal fields that say nothing the rest does not (the compiled regex of `path`). */
const HIDDEN_KEYS = new Set(['pathRegex']);

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function isEmptySecret(value: unknown): boolean {
  return value === undefined || value === '' || (Array.isArray(value) && value.length === 0);
}

/** A URL with its password (and user) masked. */
export function publicUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = 'masked';
  copy.password = 'masked';
  return copy.href.replace('masked:masked@', `${MASKED}@`);
}

function maskValue(value: unknown): unknown {
  return Array.isArray(value) ? value.map(() => MASKED) : MASKED;
}

function toPublic(value: unknown, key: string | undefined): unknown {
  if (key !== undefined && SECRET_KEYS.has(key) && !SECRET_MAPS.has(key))
    return isEmptySecret(value) ? value : maskValue(value);
  if (value instanceof URL) return publicUrl(value);
  if (value instanceof RegExp) return value.source;
  if (value === null || typeof value !== 'object') return value;
  if (key === 'additionalHeaders' && Array.isArray(value)) {
    const headers: Record<string, string> = {};
    for (const [name, headerValue] of value as Array<[string, string]>) {
      headers[name] = SECRET_HEADER.test(name) ? MASKED : headerValue;
    }
    return headers;
  }
  if (Array.isArray(value)) return value.map((item) => toPublic(item, undefined));
  const out: Record<string, unknown> = {};
  const verbatim = key !== undefined && VERBATIM_MAPS.has(key);
  const secretMap = key !== undefined && SECRET_MAPS.has(key);
  for (const [name, child] of Object.entries(value)) {
    if (child === undefined || HIDDEN_KEYS.has(name)) continue;
    if (verbatim) out[name] = secretMap ? MASKED : toPublic(child, undefined);
    else out[snakeCase(name)] = toPublic(child, name);
  }
  return out;
}

/** The effective config, snake_case keys, secrets masked; safe to serve and log. */
export function maskedConfig(config: DitoConfig): Record<string, unknown> {
  return toPublic(config, undefined) as Record<string, unknown>;
}
