// HTTP Basic authentication (RFC 7617) against bcrypt hashes from the config or an htpasswd
// file. The user table is built at load; bcrypt runs in a worker thread; recently verified
// credentials are remembered for a minute (see verified-cache.ts for the trade-off).
import { readFileSync } from 'node:fs';
import type { AuthConfig } from '../../config/types.js';
import type { Exchange } from '../../proxy/exchange.js';
import { BcryptPool } from './bcrypt-pool.js';
import { HtpasswdError, parseHtpasswd } from './htpasswd.js';
import { type AuthIdentity, quoted, type Verdict, type Verifier } from './types.js';
import { VerifiedCache } from './verified-cache.js';

type BasicAuthConfig = Extract<AuthConfig, { type: 'basic' }>;

/** Cost 10, the hash of a random string: the decoy when the table is empty. */
const FALLBACK_DECOY_HASH = '$2b$10$Cnx1Kvt2LdLG16z1KttDNOl0XHpmWtexigfV3wgzNvRw72QiMz/GS';

/**
 * The hash an unknown user's password is checked against (the result is discarded), so an
 * unknown name costs the same bcrypt time as a known one: no user enumeration by timing. The
 * costliest hash in the table, so the decoy is never the faster path.
 */
function decoyHash(users: ReadonlyMap<string, string>): string {
  let decoy: string | undefined;
  for (const hash of users.values()) {
    if (decoy === undefined || Number(hash.slice(4, 6)) > Number(decoy.slice(4, 6))) decoy = hash;
  }
  return decoy ?? FALLBACK_DECOY_HASH;
}

/** `Basic <token68>`; the scheme is case-insensitive (RFC 9110 11.1). */
const BASIC_CREDENTIALS = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/** Raised for an unreadable or unusable htpasswd file; the factory turns it into a ConfigError. */
export class HtpasswdFileError extends Error {}

function loadUsers(auth: BasicAuthConfig): Map<string, string> {
  if (auth.htpasswdFile === undefined) return new Map(Object.entries(auth.users));
  let text: string;
  try {
    text = readFileSync(auth.htpasswdFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new HtpasswdFileError(`cannot read htpasswd file ${auth.htpasswdFile}: ${reason}`);
  }
  try {
    return parseHtpasswd(text);
  } catch (err) {
    if (err instanceof HtpasswdError) {
      throw new HtpasswdFileError(`${auth.htpasswdFile}:${err.line}: ${err.detail}`);
    }
    throw err;
  }
}

export function createBasicVerifier(auth: BasicAuthConfig): Verifier {
  const users = loadUsers(auth);
  const decoy = decoyHash(users);
  const pool = new BcryptPool();
  const cache = new VerifiedCache<true>();
  /** Concurrent requests with the same credential share one bcrypt check. */
  const inFlight = new Map<string, Promise<boolean>>();
  const challenge = `Basic realm=${quoted(auth.realm)}, charset="UTF-8"`;

  const check = (user: string, password: string, key: string): Promise<boolean> | undefined => {
    const shared = inFlight.get(key);
    if (shared !== undefined) return shared;
    const hash = users.get(user);
    const compared = pool.compare(password, hash ?? decoy);
    if (compared === undefined) return undefined;
    const result = compared.then((match) => {
      inFlight.delete(key);
      const accepted = match && hash !== undefined;
      if (accepted) cache.add(key, true);
      return accepted;
    });
    inFlight.set(key, result);
    return result;
  };

  return {
    type: 'basic',
    verify(exchange: Exchange): Verdict | Promise<Verdict> {
      const header = exchange.req.headers.authorization;
      if (header === undefined) return { ok: false, reason: 'missing' };
      const match = BASIC_CREDENTIALS.exec(header);
      if (match === null)
        return { ok: false, reason: /^basic(?: |$)/i.test(header) ? 'malformed' : 'missing' };
      const credential = Buffer.from(match[1]!, 'base64').toString('utf8');
      const colon = credential.indexOf(':');
      if (colon < 0) return { ok: false, reason: 'malformed' };
      const user = credential.slice(0, colon);
      const identity: AuthIdentity = { type: 'basic', subject: user };
      const key = cache.keyOf(credential);
      if (cache.get(key) === true) return { ok: true, identity };
      const pending = check(user, credential.slice(colon + 1), key);
      if (pending === undefined) return { ok: false, reason: 'busy' };
      return pending.then((accepted) =>
        accepted ? { ok: true, identity } : { ok: false, reason: 'invalid_credentials' },
      );
    },
    challenge: () => challenge,
    stripCredential(exchange) {
      delete exchange.req.headers.authorization;
    },
    async close() {
      cache.clear();
      await pool.close();
    },
  };
}
