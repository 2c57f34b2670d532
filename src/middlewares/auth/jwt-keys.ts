// Where a JWT's verification key comes from, prepared at load: an HMAC secret, a PEM public key
// or certificate (checked against the configured algorithms), or a remote JWKS whose cache
// survives reloads through the middleware carry map.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet } from 'jose';

export type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

export type KeySource =
  | { readonly kind: 'secret'; readonly key: Uint8Array }
  | { readonly kind: 'public_key'; readonly key: KeyObject }
  | { readonly kind: 'jwks'; readonly keySet: RemoteKeySet };

/** How long fetched keys are trusted before a refetch (jose's default). */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** Minimum time between refetches triggered by an unknown `kid` (jose's default): a flood of forged kids cannot hammer the identity provider. */
export const JWKS_COOLDOWN_MS = 30_000;
/** A JWKS fetch slower than this fails (the request waiting on it gets 401). */
export const JWKS_TIMEOUT_MS = 5_000;

/** Raised for an unusable key file or key/algorithm mismatch; the factory makes it a ConfigError. */
export class KeySourceError extends Error {
  constructor(
    readonly key: 'public_key_file' | 'algorithms',
    message: string,
  ) {
    super(message);
    this.name = 'KeySourceError';
  }
}

const CURVE_OF: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** Whether `alg` can be verified with `key`: refusing mismatches at load keeps a typo from turning every request into a 401. */
export function algorithmFitsKey(alg: string, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS')) return type === 'rsa';
  if (alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  if (alg.startsWith('ES')) return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === CURVE_OF[alg];
  if (alg === 'EdDSA' || alg === 'Ed25519') return type === 'ed25519';
  return false;
}

export function loadPublicKey(file: string, algorithms: readonly string[]): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new KeySourceError('public_key_file', `cannot read public key file ${file}: ${reason}`);
  }
  if (pem.includes('PRIVATE KEY')) {
    // Node would derive the public half, but a private key has no business on the proxy.
    throw new KeySourceError(
      'public_key_file',
      `${file} holds a private key: give the public key (SPKI PEM)`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new KeySourceError('public_key_file', `${file} is not a PEM public key or certificate`);
  }
  for (const alg of algorithms) {
    if (!algorithmFitsKey(alg, key)) {
      const details = key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : '';
      throw new KeySourceError(
        'algorithms',
        `algorithm ${alg} cannot be verified with the ${key.asymmetricKeyType}${details} key in ${file}`,
      );
    }
  }
  return key;
}

/** One remote key set per URL, reused across reloads so a reload does not refetch. */
export function remoteKeySet(url: string, carry: Map<string, unknown>): RemoteKeySet {
  const carryKey = `auth:jwks:${url}`;
  const carried = carry.get(carryKey) as RemoteKeySet | undefined;
  if (carried !== undefined) return carried;
  const keySet = createRemoteJWKSet(new URL(url), {
    cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    cooldownDuration: JWKS_COOLDOWN_MS,
    timeoutDuration: JWKS_TIMEOUT_MS,
    headers: { 'user-agent': 'dito' },
  });
  carry.set(carryKey, keySet);
  return keySet;
}
