// The `admin:` block (extension): Dito's own admin listener (JSON API, live dashboard), off by
// default, bound to loopback unless told otherwise, with optional basic or bearer-token auth.
import { isIP } from 'node:net';
import * as z from 'zod';
import { BCRYPT_HASH } from './schema-auth.js';
import { portField, sha256HexField } from './schema-fields.js';

/** 127.0.0.0/8, ::1 and `localhost`: the addresses only this machine can reach. */
export function isLoopbackAddress(address: string): boolean {
  if (address === 'localhost' || address === '::1') return true;
  return isIP(address) === 4 && address.startsWith('127.');
}

const adminBasicAuth = z.strictObject({
  type: z.literal('basic').describe('HTTP Basic authentication against bcrypt password hashes.'),
  realm: z
    .string()
    .regex(/^[\x20-\x7e]+$/, { error: 'the realm must be printable ASCII (it is sent in a header)' })
    .default('dito-admin')
    .describe('Realm named in the `WWW-Authenticate` header of a 401 answer.'),
  users: z
    .record(
      z.string().min(1),
      z.string().regex(BCRYPT_HASH, {
        error: 'expected a bcrypt hash ("$2b$10$..."), never a plain password',
      }),
    )
    .refine((users) => Object.keys(users).length > 0, { error: 'at least one user is needed' })
    .describe('User name to bcrypt hash (`htpasswd -nbB user password`).'),
});

const adminBearerAuth = z.strictObject({
  type: z.literal('bearer').describe('`Authorization: Bearer <token>`, compared by its SHA-256.'),
  tokens: z
    .array(sha256HexField())
    .min(1)
    .describe(
      'SHA-256 hex digests of the accepted tokens (`printf %s "$TOKEN" | sha256sum`); several allow rotation.',
    ),
});

export const adminSchema = z.strictObject({
  enabled: z.boolean().default(false).describe('Serve the admin API and dashboard.'),
  address: z
    .string()
    .refine((value) => value === 'localhost' || isIP(value) !== 0, {
      error: 'expected an IP address or "localhost"',
    })
    .default('127.0.0.1')
    .describe('Address the admin listener binds. Default loopback only; any other address requires `auth`.'),
  port: portField()
    .prefault(8090)
    .describe('Port of the admin listener (never the proxy port). 0 = an ephemeral port (for tests).'),
  auth: z
    .discriminatedUnion('type', [adminBasicAuth, adminBearerAuth])
    .optional()
    .describe('Who may use the admin listener: `basic` or `bearer`. Required off loopback.'),
});
