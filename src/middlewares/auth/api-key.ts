// Static API keys in a header or a query parameter. The config holds only SHA-256 digests; the
// presented key is hashed and compared against every digest with `timingSafeEqual` (equal-length
// buffers, no early exit), so neither the match nor its position leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthConfig } from '../../config/types.js';
import type { Exchange } from '../../proxy/exchange.js';
import { quoted, type RefusalReason, type Verdict, type Verifier } from './types.js';

type ApiKeyAuthConfig = Extract<AuthConfig, { type: 'api_key' }>;

/** Decodes a query component the way URLSearchParams does; undefined when it is not valid %-encoding. */
function decodeQueryComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The value of the first `name=` parameter in `query` (with or without its leading `?`). */
export function queryParameter(query: string, name: string): string | undefined {
  if (query.length <= 1) return undefined;
  for (const part of query.slice(query.startsWith('?') ? 1 : 0).split('&')) {
    const equals = part.indexOf('=');
    const rawName = equals < 0 ? part : part.slice(0, equals);
    if (decodeQueryComponent(rawName) !== name) continue;
    return equals < 0 ? '' : decodeQueryComponent(part.slice(equals + 1));
  }
  return undefined;
}

/** `query` without any `name=` parameter; the other parameters keep their exact bytes. */
export function withoutQueryParameter(query: string, name: string): string {
  if (query.length <= 1) return query;
  const kept = query
    .slice(1)
    .split('&')
    .filter((part) => {
      const equals = part.indexOf('=');
      return decodeQueryComponent(equals < 0 ? part : part.slice(0, equals)) !== name;
    });
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

export function createApiKeyVerifier(auth: ApiKeyAuthConfig): Verifier {
  const digests = auth.keys.map((hex) => Buffer.from(hex, 'hex'));
  const headerName = auth.header?.toLowerCase();
  const queryName = auth.query;
  const where = headerName !== undefined ? `header=${quoted(auth.header!)}` : `query=${quoted(queryName!)}`;
  const missingChallenge = `ApiKey realm=${quoted(auth.realm)}, ${where}`;
  const invalidChallenge = `${missingChallenge}, error="invalid_key"`;

  const presented = (exchange: Exchange): string | undefined => {
    if (headerName !== undefined) {
      const value = exchange.req.headers[headerName];
      // Repeated custom headers arrive joined with ", " (never a key): they simply do not match.
      return typeof value === 'string' ? value : undefined;
    }
    return queryParameter(exchange.query, queryName!);
  };

  return {
    type: 'api_key',
    verify(exchange: Exchange): Verdict {
      const key = presented(exchange);
      if (key === undefined || key === '') return { ok: false, reason: 'missing' };
      const digest = createHash('sha256').update(key).digest();
      let matched = -1;
      for (let i = 0; i < digests.length; i++) {
        // Every digest is compared, whatever matched before.
        if (timingSafeEqual(digest, digests[i]!) && matched < 0) matched = i;
      }
      if (matched < 0) return { ok: false, reason: 'invalid_credentials' };
      return { ok: true, identity: { type: 'api_key', subject: `key-${auth.keys[matched]!.slice(0, 12)}` } };
    },
    challenge: (reason: RefusalReason) => (reason === 'missing' ? missingChallenge : invalidChallenge),
    stripCredential(exchange) {
      if (headerName !== undefined) {
        delete exchange.req.headers[headerName];
        return;
      }
      // The proxy builds the upstream URL from `exchange.query`: rewriting it is how the key is kept back.
      (exchange as { query: string }).query = withoutQueryParameter(exchange.query, queryName!);
    },
  };
}
