// Who a rate-limit bucket belongs to (`rate_limiting.key`): the client IP (trusted-proxy aware), a
// request header, or the identity the `auth` middleware authenticated. Compiled once per location.
import { createHash } from 'node:crypto';
import type { Exchange } from '../../proxy/exchange.js';

export type ClientKeyFunction = (exchange: Exchange) => string;

/** Longer identities are hashed, so a client can't make Dito keep kilobytes per bucket. */
const MAX_KEY_LENGTH = 128;

function bounded(prefix: string, value: string): string {
  if (value.length <= MAX_KEY_LENGTH) return prefix + value;
  return `${prefix}#${createHash('sha256').update(value).digest('base64url')}`;
}

/** What the `auth` middleware leaves in `exchange.locals.auth` for others to read. */
export interface AuthenticatedIdentity {
  subject: string;
}

function authenticatedSubject(exchange: Exchange): string | undefined {
  const auth = exchange.locals?.auth as Partial<AuthenticatedIdentity> | undefined;
  const subject = auth?.subject;
  return typeof subject === 'string' && subject !== '' ? subject : undefined;
}

/**
 * `ip` (default), `header:<Name>` or `auth`. The IP is the key as is (no string built per request);
 * header values and identities get a prefix with `=`, which no IP address contains, so they can
 * never land in the bucket of an IP. Without the header or identity, the client IP is the key.
 */
export function compileClientKey(source: string | undefined): ClientKeyFunction {
  const byIp: ClientKeyFunction = (exchange) => exchange.clientIp;
  if (source === undefined || source === 'ip') return byIp;
  if (source === 'auth') {
    return (exchange) => {
      const subject = authenticatedSubject(exchange);
      return subject === undefined ? byIp(exchange) : bounded('user=', subject);
    };
  }
  if (source.startsWith('header:')) {
    const name = source.slice('header:'.length).toLowerCase();
    return (exchange) => {
      const value = exchange.req.headers[name];
      const text = Array.isArray(value) ? value.join(', ') : value;
      return text === undefined || text === '' ? byIp(exchange) : bounded('header=', text);
    };
  }
  throw new Error(`unknown rate_limiting.key "${source}"`);
}
