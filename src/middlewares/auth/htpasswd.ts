// Parses an htpasswd file into a user → bcrypt hash table, at load. Only bcrypt entries
// (`htpasswd -B`: `$2y$`, `$2b$`, `$2a$`) are accepted; any other hash kind is refused with the
// file and line, so a weak MD5/SHA-1/crypt entry never silently guards a location.

/** bcrypt's modular crypt format: variant, two-digit cost, 53 characters of salt and hash. */
export const BCRYPT_HASH = /^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$/;

export class HtpasswdError extends Error {
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'HtpasswdError';
  }
}

/** Names the hash kind of an entry Dito refuses, for a message the operator can act on. */
function hashKind(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'Apache MD5 ($apr1$)';
  if (hash.startsWith('$1$')) return 'MD5-crypt ($1$)';
  if (hash.startsWith('$5$')) return 'SHA-256-crypt ($5$)';
  if (hash.startsWith('$6$')) return 'SHA-512-crypt ($6$)';
  if (hash.startsWith('{SHA}')) return 'SHA-1 ({SHA})';
  if (hash.startsWith('$2')) return 'a malformed bcrypt hash';
  return 'DES crypt or plain text';
}

/** Throws HtpasswdError (1-based line) on the first unusable line. */
export function parseHtpasswd(text: string): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HtpasswdError(index + 1, 'expected "user:hash"');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1).trim();
    if (!BCRYPT_HASH.test(hash)) {
      throw new HtpasswdError(
        index + 1,
        `user ${JSON.stringify(user)} has an unsupported hash: ${hashKind(hash)}; only bcrypt is accepted (htpasswd -B)`,
      );
    }
    if (users.has(user)) throw new HtpasswdError(index + 1, `user ${JSON.stringify(user)} is listed twice`);
    users.set(user, hash);
  }
  return users;
}
