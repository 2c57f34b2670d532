// Bearer JSON Web Tokens (RFC 7519/6750) verified with `jose`: the accepted algorithms are always
// pinned (so `alg: none` and algorithm confusion are refused), then issuer, audience, expiry with
// the clock tolerance, and required claims. jose's error codes map to a refusal reason; the token
// itself is never logged. Accepted tokens are remembered (never past their `exp`): a cache hit
// costs ~3 µs instead of ~100 µs for the signature check.
import { errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { AuthConfig } from '../../config/types.js';
import type { Exchange } from '../../proxy/exchange.js';
import type { KeySource } from './jwt-keys.js';
import { type AuthIdentity, quoted, type RefusalReason, type Verdict, type Verifier } from './types.js';
import { VerifiedCache } from './verified-cache.js';

type JwtAuthConfig = Extract<AuthConfig, { type: 'jwt' }>;

/** `Bearer <b64token>` (RFC 6750 2.1); the scheme is case-insensitive. */
const BEARER_CREDENTIALS = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** What each jose error code means for the client (and the log). */
export function refusalFor(err: unknown, remote: boolean): RefusalReason {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return err.claim === 'nbf' ? 'not_yet_valid' : 'claims';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'algorithm';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return 'unknown_key';
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed';
  // What is left with a remote key set is the fetch failing: timeout, refused, non-200, bad JSON.
  if (remote) return 'key_unavailable';
  return 'signature';
}

export function createJwtVerifier(auth: JwtAuthConfig, source: KeySource): Verifier {
  const options: JWTVerifyOptions = {
    algorithms: auth.algorithms,
    issuer: auth.issuer,
    audience: auth.audience,
    clockTolerance: auth.clockToleranceMs / 1000,
    requiredClaims: auth.requiredClaims,
  };
  const realm = `Bearer realm=${quoted(auth.realm)}`;
  // RFC 6750 3.1: no error code when the request had no token; descriptions stay generic.
  const expiredChallenge = `${realm}, error="invalid_token", error_description="The access token expired"`;
  const invalidChallenge = `${realm}, error="invalid_token", error_description="The access token is invalid"`;
  const remote = source.kind === 'jwks';
  const toleranceMs = auth.clockToleranceMs;
  const accepted = new VerifiedCache<AuthIdentity>();

  const verifyToken = (token: string): Promise<{ payload: JWTPayload }> => {
    switch (source.kind) {
      case 'jwks':
        return jwtVerify(token, source.keySet, options);
      case 'public_key':
        return jwtVerify(token, source.key, options);
      case 'secret':
        return jwtVerify(token, source.key, options);
    }
  };

  return {
    type: 'jwt',
    verify(exchange: Exchange): Verdict | Promise<Verdict> {
      const header = exchange.req.headers.authorization;
      if (header === undefined) return { ok: false, reason: 'missing' };
      const match = BEARER_CREDENTIALS.exec(header);
      if (match === null)
        return { ok: false, reason: /^bearer(?: |$)/i.test(header) ? 'malformed' : 'missing' };
      const token = match[1]!;
      const key = accepted.keyOf(token);
      const known = accepted.get(key);
      if (known !== undefined) return { ok: true, identity: known };
      return verifyToken(token).then(
        ({ payload }): Verdict => {
          const identity: AuthIdentity = {
            type: 'jwt',
            subject: typeof payload.sub === 'string' ? payload.sub : '',
            claims: payload as Record<string, unknown>,
          };
          // jose accepts until exp + tolerance; the cache never stretches that.
          const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 + toleranceMs : undefined;
          accepted.add(key, identity, expiresAt);
          return { ok: true, identity };
        },
        (err: unknown): Verdict => ({ ok: false, reason: refusalFor(err, remote) }),
      );
    },
    challenge(reason) {
      if (reason === 'missing') return realm;
      return reason === 'expired' ? expiredChallenge : invalidChallenge;
    },
    stripCredential(exchange) {
      delete exchange.req.headers.authorization;
    },
    async close() {
      accepted.clear();
    },
  };
}
