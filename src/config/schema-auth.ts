// The `auth:` block of a location (contract section 5): basic, api_key or jwt, told apart by `type`.
// Which combinations of keys are allowed (exactly one JWT key source, ...) is checked in checks.ts.
import * as z from 'zod';
import { DURATION_HINT, durationField, headerNameField, sha256HexField } from './schema-fields.js';

/** Algorithms `jose` verifies. `none` is refused outright: it would accept unsigned tokens. */
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** bcrypt's modular crypt format: `$2a$`, `$2b$` or `$2y$`, cost, 53 characters of salt and hash. */
export const BCRYPT_HASH = /^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$/;

const realm = z
  .string()
  .regex(/^[\x20-\x7e]+$/, { error: 'the realm must be printable ASCII (it is sent in a header)' })
  .default('dito')
  .describe('Realm named in the `WWW-Authenticate` header of a 401 answer.');

const stripCredentials = z
  .boolean()
  .default(false)
  .describe(
    'Remove the credential (the `Authorization` header, the API key header or query parameter) before the request goes upstream. Default false: the upstream receives it, as with nginx and Traefik.',
  );

const basicAuth = z.strictObject({
  type: z.literal('basic').describe('HTTP Basic authentication against bcrypt password hashes.'),
  realm,
  strip_credentials: stripCredentials,
  users: z
    .record(
      z.string().min(1),
      z.string().regex(BCRYPT_HASH, {
        error: 'expected a bcrypt hash ("$2b$10$..."), never a plain password',
      }),
    )
    .optional()
    .describe('User name to bcrypt hash. Either this or `htpasswd_file`.'),
  htpasswd_file: z
    .string()
    .min(1)
    .optional()
    .describe(
      "An htpasswd file of bcrypt entries (relative paths: from the config file's folder). Either this or `users`.",
    ),
});

const apiKeyAuth = z.strictObject({
  type: z.literal('api_key').describe('A static API key, compared by its SHA-256.'),
  realm,
  strip_credentials: stripCredentials,
  header: headerNameField()
    .optional()
    .describe('Request header carrying the key. Default `X-API-Key` unless `query` is set.'),
  query: z.string().min(1).optional().describe('Query parameter carrying the key, instead of a header.'),
  keys: z
    .array(sha256HexField())
    .min(1)
    .describe('SHA-256 hex digests of the accepted keys (`printf %s "$KEY" | sha256sum`); never the keys.'),
});

const jwtAlgorithm = z.enum(JWT_ALGORITHMS, {
  error: (issue) =>
    String(issue.input).toLowerCase() === 'none'
      ? 'algorithm "none" is refused: it would accept unsigned tokens'
      : `unsupported algorithm ${JSON.stringify(issue.input)} (supported: ${JWT_ALGORITHMS.join(', ')})`,
});

const jwtAuth = z.strictObject({
  type: z.literal('jwt').describe('Bearer JSON Web Tokens.'),
  realm,
  strip_credentials: stripCredentials,
  secret: z
    .string()
    .min(1)
    .optional()
    .describe(
      'HMAC secret (HS* algorithms), at least 32 bytes. One of `secret`, `public_key_file`, `jwks_url`.',
    ),
  public_key_file: z
    .string()
    .min(1)
    .optional()
    .describe(
      "PEM public key (SPKI) or certificate (RS*, PS*, ES*, EdDSA). Relative: from the config file's folder.",
    ),
  jwks_url: z
    .string()
    .min(1)
    .optional()
    .describe('JWKS endpoint (https; http only on loopback hosts) publishing the verification keys.'),
  algorithms: z
    .array(jwtAlgorithm)
    .min(1)
    .describe(
      'Accepted `alg` values; required, never `none`. HS* only with `secret`, the others only with keys.',
    ),
  issuer: z.string().min(1).optional().describe('Required `iss` claim value.'),
  audience: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .optional()
    .describe('Required `aud` claim value, or a list of which one must match.'),
  clock_tolerance: durationField()
    .prefault(0)
    .describe('Leeway for `exp` and `nbf` checks.' + DURATION_HINT),
  required_claims: z
    .array(z.string().min(1))
    .default([])
    .describe('Claims that must be present in the token.'),
  forward_claims: z
    .record(z.string().min(1), headerNameField())
    .default({})
    .describe('Claim name to request header name: the claim is sent upstream in that header.'),
});

export const authSchema = z
  .discriminatedUnion('type', [basicAuth, apiKeyAuth, jwtAuth])
  .describe('Settings of the `auth` middleware; required when `auth` is listed in `middlewares`.');
