// The key the `hash` policy hashes, per request: the client IP, a request header (the client IP
// when absent) or a cookie. A missing cookie is minted here and set on the response: that cookie
// is the sticky session (the same value keeps hashing to the same target).
import { randomBytes } from 'node:crypto';
import type { HashSource } from '../config/types.js';
import type { Exchange } from '../proxy/exchange.js';
import { hashString } from './policies.js';

export interface HashKey {
  hash: number;
  /** A `Set-Cookie` value to add to the response (a new sticky session). */
  setCookie?: string;
}

export type KeyExtractor = (exchange: Exchange) => HashKey;

/** The value of cookie `name` in a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      const value = header.slice(eq + 1, end).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
    start = end + 1;
  }
  return undefined;
}

export function compileKeyExtractor(source: HashSource): KeyExtractor {
  switch (source.from) {
    case 'ip':
      return (exchange) => ({ hash: hashString(exchange.clientIp) });
    case 'header': {
      const name = source.name;
      return (exchange) => {
        const value = exchange.req.headers[name];
        const text = Array.isArray(value) ? value.join(', ') : value;
        return { hash: hashString(text === undefined || text === '' ? exchange.clientIp : text) };
      };
    }
    case 'cookie': {
      const name = source.name;
      return (exchange) => {
        const value = readCookie(exchange.req.headers.cookie, name);
        if (value !== undefined && value !== '') return { hash: hashString(value) };
        // 96 random bits: unguessable, so one client cannot pick another's session on purpose.
        const token = randomBytes(12).toString('base64url');
        const secure = exchange.proto === 'https' ? '; Secure' : '';
        return {
          hash: hashString(token),
          setCookie: `${name}=${token}; Path=/; HttpOnly; SameSite=Lax${secure}`,
        };
      };
    }
  }
}
