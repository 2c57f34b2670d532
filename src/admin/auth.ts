// Who may use the admin listener: nobody is asked on loopback without `admin.auth`; otherwise HTTP
// Basic against bcrypt hashes (the auth middleware's verifier: worker-thread bcrypt, decoy hash
// for unknown users, a short cache of verified credentials) or a bearer token compared by its
// SHA-256 in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminAuthConfig } from '../config/types.js';
import { createBasicVerifier } from '../middlewares/auth/basic.js';
import type { Verifier } from '../middlewares/auth/types.js';
import type { Exchange } from '../proxy/exchange.js';

export type AdminVerdict = 'ok' | 'refused' | 'busy';

export interface AdminAuthenticator {
  check(req: IncomingMessage): AdminVerdict | Promise<AdminVerdict>;
  /** The `WWW-Authenticate` value sent with a 401. */
  readonly challenge: string;
  /**
   * The page, script and stylesheet (no data in them) are served without credentials: true for
   * bearer tokens, which a browser cannot send on a page load (the page asks for the token).
   */
  readonly assetsPublic: boolean;
  close(): Promise<void>;
}

const BEARER = /^bearer +([\x21-\x7e]+) *$/i;

function bearerAuthenticator(tokens: readonly string[]): AdminAuthenticator {
  const digests = tokens.map((hex) => Buffer.from(hex, 'hex'));
  return {
    challenge: 'Bearer realm="dito-admin"',
    assetsPublic: true,
    check(req) {
      const match = BEARER.exec(req.headers.authorization ?? '');
      if (match === null) return 'refused';
      const digest = createHash('sha256').update(match[1]!).digest();
      // Every configured digest is compared (no early exit): the time does not tell which matched.
      let accepted = false;
      for (const expected of digests) accepted = timingSafeEqual(digest, expected) || accepted;
      return accepted ? 'ok' : 'refused';
    },
    async close() {},
  };
}

function basicAuthenticator(auth: Extract<AdminAuthConfig, { type: 'basic' }>): AdminAuthenticator {
  const verifier: Verifier = createBasicVerifier({
    type: 'basic',
    realm: auth.realm,
    stripCredentials: false,
    users: auth.users,
  });
  return {
    challenge: verifier.challenge('missing'),
    assetsPublic: false,
    check(req) {
      // The Basic verifier reads only the request's Authorization header.
      const verdict = verifier.verify({ req } as Exchange);
      const judge = (v: Awaited<typeof verdict>): AdminVerdict =>
        v.ok ? 'ok' : v.reason === 'busy' ? 'busy' : 'refused';
      return verdict instanceof Promise ? verdict.then(judge) : judge(verdict);
    },
    close: async () => verifier.close?.(),
  };
}

/** Undefined when `auth` is not configured (loopback only, enforced at config load). */
export function createAdminAuthenticator(auth: AdminAuthConfig | undefined): AdminAuthenticator | undefined {
  if (auth === undefined) return undefined;
  return auth.type === 'bearer' ? bearerAuthenticator(auth.tokens) : basicAuthenticator(auth);
}
