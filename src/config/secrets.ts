// Which config values are secrets, in one place: `debug-config` (on the raw YAML keys) and the
// admin API (on the effective config) mask the same things.

/** Key names whose values are secrets wherever they appear (one word: the same in YAML and in code). */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'secret', 'users', 'keys', 'tokens']);

/** `additional_headers` names whose values carry credentials (tested case-insensitively). */
export const SECRET_HEADER =
  /^(authorization|proxy-authorization|cookie|x-api-key|api-key)$|token|secret|password|key/i;
