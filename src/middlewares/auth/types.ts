// What the three credential verifiers (basic, api_key, jwt) share: the verdict they return, the
// identity recorded for later middlewares, and the reasons a request is refused (logged, never
// the credential itself).
import type { Exchange } from '../../proxy/exchange.js';

export type AuthType = 'basic' | 'api_key' | 'jwt';

/** Recorded on `exchange.locals.auth` once a request is authenticated (the rate limiter may key on it). */
export interface AuthIdentity {
  readonly type: AuthType;
  /** Basic: the user name. api_key: `key-` + the first 12 hex of the key's SHA-256. jwt: `sub` (or ''). */
  readonly subject: string;
  /** jwt only: the verified claims. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** Why a request was refused; the log field `reason`, and the input to the challenge. */
export type RefusalReason =
  /** No credential of the expected kind. */
  | 'missing'
  /** A credential that cannot be parsed (bad base64, not a JWS). */
  | 'malformed'
  /** Wrong user, password or API key. */
  | 'invalid_credentials'
  | 'expired'
  | 'not_yet_valid'
  /** `iss`, `aud` or a required claim did not match. */
  | 'claims'
  /** `alg` not in `algorithms` (`none` included). */
  | 'algorithm'
  | 'signature'
  /** JWKS: no key with the token's `kid`/`alg`. */
  | 'unknown_key'
  /** JWKS: the key set could not be fetched. */
  | 'key_unavailable';

export type Verdict =
  | { readonly ok: true; readonly identity: AuthIdentity }
  | { readonly ok: false; readonly reason: RefusalReason }
  /** Too many password checks queued: answer 503 rather than grow the queue. */
  | { readonly ok: false; readonly reason: 'busy' };

export interface Verifier {
  readonly type: AuthType;
  /** Synchronous when the answer is known at once (API keys, cached Basic credentials). */
  verify(exchange: Exchange): Verdict | Promise<Verdict>;
  /** The `WWW-Authenticate` value for a refusal (precomputed strings). */
  challenge(reason: RefusalReason): string;
  /** Removes the credential from the request before it goes upstream (`strip_credentials`). */
  stripCredential(exchange: Exchange): void;
  close?(): Promise<void>;
}

/** An RFC 9110 quoted-string (the realm is printable ASCII, checked by the schema). */
export function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
