// Forwards chosen JWT claims to the upstream as request headers, and makes sure a client cannot
// forge them: its own copies are removed whether or not the token carries the claim, including
// `_`/`.` spellings that backends fold onto the same name (Traefik CVE-2026-88011) and
// `Connection` tokens that would make the proxy drop the header Dito set.
import type { IncomingHttpHeaders } from 'node:http';

/** Folds the spellings CGI/WSGI/PHP/nginx treat as one header name. */
function aliasOf(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes('_') || lower.includes('.') ? lower.replace(/[_.]/g, '-') : lower;
}

/** Printable ASCII goes as is; anything else is percent-encoded (encodeURIComponent). */
const PLAIN_HEADER_VALUE = /^[\x20-\x7e]*$/;

/** A claim as a header value, or undefined to leave the header out (absent or null claim). */
export function claimHeaderValue(claim: unknown): string | undefined {
  let text: string;
  if (claim === undefined || claim === null) return undefined;
  if (typeof claim === 'string') text = claim;
  else if (typeof claim === 'number' || typeof claim === 'boolean') text = String(claim);
  else if (
    Array.isArray(claim) &&
    claim.every((item) => typeof item === 'string' || typeof item === 'number')
  ) {
    text = claim.join(',');
  } else text = JSON.stringify(claim);
  return PLAIN_HEADER_VALUE.test(text) ? text : encodeURIComponent(text);
}

export class ClaimForwarding {
  /** [claim, lower-cased header name] pairs. */
  private readonly entries: ReadonlyArray<readonly [string, string]>;
  private readonly aliases: ReadonlySet<string>;

  constructor(forwardClaims: Readonly<Record<string, string>>) {
    this.entries = Object.entries(forwardClaims).map(
      ([claim, header]) => [claim, header.toLowerCase()] as const,
    );
    this.aliases = new Set(this.entries.map(([, header]) => aliasOf(header)));
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** Removes every client-sent copy of a claim header (any spelling) and Connection tokens naming one. */
  removeClientCopies(headers: IncomingHttpHeaders): void {
    for (const name in headers) {
      if (this.aliases.has(aliasOf(name))) delete headers[name];
    }
    const connection = headers.connection;
    if (connection !== undefined) {
      const kept = connection
        .split(',')
        .filter((token) => !this.aliases.has(aliasOf(token.trim())))
        .join(',');
      if (kept.trim() === '') delete headers.connection;
      else headers.connection = kept;
    }
  }

  /** Sets the headers of the claims the token carries. */
  apply(headers: IncomingHttpHeaders, claims: Readonly<Record<string, unknown>>): void {
    for (const [claim, header] of this.entries) {
      const value = claimHeaderValue(Object.hasOwn(claims, claim) ? claims[claim] : undefined);
      if (value !== undefined) headers[header] = value;
    }
  }
}
