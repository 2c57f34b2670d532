// Bearer JSON Web Tokens (RFC 7519/6750) verified with `jose`: the accepted algorithms are always
// pinned (so `alg: none` and algorithm confusion are refused), then issuer, audience, expiry with
// the clock tolerance, and required claims. jose's error codes map to a refusal reason; the token
// itself is never logged.
import { errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { AuthConfig } from '../../config/types.js';
import type { Exchange } from '../../proxy/exchange.js';
import type { KeySource } from './jwt-keys.js';
import { quoted, type RefusalReason, type Verdict, type Verifier } from './types.js';

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
      if (match === null) return { ok: false, reason: /^bearer(?: |$)/i.test(header) ? 'malformed' : 'missing' };
      return verifyToken(match[1]!).then(
        ({ payload }): Verdict => ({
          ok: true,
          identity: {
            type: 'jwt',
            subject: typeof payload.sub === 'string' ? payload.sub : '',
            claims: payload as Record<string, unknown>,
          },
        }),
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
  };
}
