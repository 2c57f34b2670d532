// Cache keys: the contract's method, host and URI, plus the values of the request headers a
// stored response names in `Vary` (one variant key per combination of values).
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The primary key. HEAD is answered from the GET entry, so both use `GET`. The URI is the
 * normalised path (what routing matched and the upstream received) plus the query as sent.
 */
export function primaryKey(host: string | undefined, path: string, query: string): string {
  return `GET ${(host ?? '').toLowerCase()} ${path}${query}`;
}

function headerValue(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  // Whitespace around list separators carries no meaning (RFC 9110 section 5.6.1).
  return (Array.isArray(value) ? value.join(',') : value).trim().replace(/\s*,\s*/g, ',');
}

/** What selects one variant: the request's values of the headers named in `Vary`. */
export function variantOf(varyNames: readonly string[], headers: IncomingHttpHeaders): string {
  let variant = '';
  for (const name of varyNames) variant += `${name}:${headerValue(headers[name])}\n`;
  return variant;
}

/** The key of one variant of a response that varies. */
export function variantKey(primary: string, variant: string): string {
  return `${primary}\n${variant}`;
}
