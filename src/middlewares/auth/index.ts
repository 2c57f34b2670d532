// The `auth` middleware: builds the location's verifier at load (user table, API key digests,
// JWT key or JWKS), then per request accepts — recording the identity on `exchange.locals.auth`
// and forwarding chosen claims — or refuses with 401 JSON and a `WWW-Authenticate` challenge.
import { ConfigError } from '../../config/errors.js';
import type { AuthConfig } from '../../config/types.js';
import { sendError } from '../../proxy/errors.js';
import type { Exchange } from '../../proxy/exchange.js';
import type { MiddlewareContext } from '../../runtime/middleware-registry.js';
import type { Middleware, Next } from '../types.js';
import { createApiKeyVerifier } from './api-key.js';
import { createBasicVerifier, HtpasswdFileError } from './basic.js';
import { ClaimForwarding } from './claims.js';
import { createJwtVerifier } from './jwt.js';
import { type KeySource, KeySourceError, loadPublicKey, remoteKeySet } from './jwt-keys.js';
import type { AuthIdentity, Verdict, Verifier } from './types.js';

export type { AuthIdentity } from './types.js';

/** Reads the identity an earlier `auth` middleware recorded (undefined when none ran or it refused). */
export function authIdentity(exchange: Exchange): AuthIdentity | undefined {
  return exchange.locals?.auth as AuthIdentity | undefined;
}

function keySourceOf(auth: Extract<AuthConfig, { type: 'jwt' }>, context: MiddlewareContext): KeySource {
  if (auth.secret !== undefined) return { kind: 'secret', key: new TextEncoder().encode(auth.secret) };
  if (auth.publicKeyFile !== undefined) {
    return { kind: 'public_key', key: loadPublicKey(auth.publicKeyFile, auth.algorithms) };
  }
  return { kind: 'jwks', keySet: remoteKeySet(auth.jwksUrl!, context.carry) };
}

/** The verifier for the location's `auth:` block; unusable files become ConfigErrors at their key. */
function createVerifier(auth: AuthConfig, context: MiddlewareContext): Verifier {
  const index = context.location.index;
  const configError = (key: string, message: string) =>
    new ConfigError(
      context.locate(['locations', index, 'auth', key]),
      `locations[${index}].auth.${key}`,
      message,
    );
  try {
    switch (auth.type) {
      case 'basic':
        return createBasicVerifier(auth);
      case 'api_key':
        return createApiKeyVerifier(auth);
      case 'jwt':
        return createJwtVerifier(auth, keySourceOf(auth, context));
    }
  } catch (err) {
    if (err instanceof HtpasswdFileError) throw configError('htpasswd_file', err.message);
    if (err instanceof KeySourceError) throw configError(err.key, err.message);
    throw err;
  }
}

export function createAuthMiddleware(context: MiddlewareContext): Middleware {
  const { location, logger } = context;
  const auth = location.auth;
  if (auth === undefined) {
    // The loader refuses this already (checks.ts); kept so a factory misuse cannot open a location.
    throw new ConfigError(
      context.locate(['locations', location.index, 'middlewares']),
      `locations[${location.index}].middlewares`,
      'the auth middleware needs an `auth:` block on this location',
    );
  }
  const verifier = createVerifier(auth, context);
  const claims = auth.type === 'jwt' ? new ClaimForwarding(auth.forwardClaims) : undefined;
  const forwarding = claims !== undefined && !claims.empty ? claims : undefined;
  const strip = auth.stripCredentials;

  const settle = (exchange: Exchange, verdict: Verdict, next: Next): void => {
    if (verdict.ok) {
      exchange.locals ??= {};
      exchange.locals.auth = verdict.identity;
      if (forwarding !== undefined) forwarding.apply(exchange.req.headers, verdict.identity.claims ?? {});
      if (strip) verifier.stripCredential(exchange);
      next();
      return;
    }
    // The reason only: the credential never reaches the logs.
    const entry = {
      request_id: exchange.requestId,
      middleware: 'auth',
      auth_type: verifier.type,
      reason: verdict.reason,
    };
    if (verdict.reason === 'busy') {
      logger.warn(entry, 'auth busy: password check queue full');
      exchange.errorCode = 'DITO_ERR_UNAVAILABLE';
      exchange.bytesOut += sendError(exchange.res, 'DITO_ERR_UNAVAILABLE', exchange.requestId, undefined, {
        'retry-after': '1',
      });
      return;
    }
    if (verdict.reason === 'key_unavailable') logger.warn(entry, 'auth refused: JWKS unavailable');
    else logger.info(entry, 'auth refused');
    exchange.errorCode = 'DITO_ERR_UNAUTHORIZED';
    exchange.bytesOut += sendError(exchange.res, 'DITO_ERR_UNAUTHORIZED', exchange.requestId, undefined, {
      'www-authenticate': verifier.challenge(verdict.reason),
    });
  };

  return {
    name: 'auth',
    handle(exchange, next) {
      // Before anything else: a client's copy of a claim header never survives, token or not.
      forwarding?.removeClientCopies(exchange.req.headers);
      const verdict = verifier.verify(exchange);
      if (verdict instanceof Promise) return verdict.then((settled) => settle(exchange, settled, next));
      settle(exchange, verdict, next);
    },
    async close() {
      await verifier.close?.();
    },
  };
}
