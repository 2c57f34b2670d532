// Location matching and upstream path rewriting. Locations are tried in file order; the first
// whose regex matches the normalised path (never the query) wins.

export interface Routable {
  readonly regex: RegExp;
}

export class Router<L extends Routable> {
  constructor(readonly locations: readonly L[]) {}

  match(path: string): L | undefined {
    const locations = this.locations;
    for (let i = 0; i < locations.length; i++) {
      const location = locations[i]!;
      if (location.regex.test(path)) return location;
    }
    return undefined;
  }
}

/** The parts of a target URL that rewriting needs, split once at load. */
export interface TargetPath {
  /** The target's path without a trailing slash ('' for `/`). */
  readonly base: string;
  /** The target's path as written ('/' when empty). */
  readonly full: string;
  /** The target's own query without `?` ('' when none). */
  readonly query: string;
}

export function compileTargetPath(target: URL): TargetPath {
  const full = target.pathname === '' ? '/' : target.pathname;
  return {
    base: full.endsWith('/') ? full.slice(0, -1) : full,
    full,
    query: target.search.length > 1 ? target.search.slice(1) : '',
  };
}

/**
 * The upstream request path. `replace_path: true` → the target's path; otherwise the request
 * path appended to it (`/v1` + `/api/x` → `/v1/api/x`). The request's query is kept either way,
 * after the target's own query if it has one.
 */
export function rewritePath(target: TargetPath, replacePath: boolean, path: string, query: string): string {
  const base = replacePath ? target.full : target.base + path;
  if (target.query === '') return query === '' ? base : base + query;
  return query === '' ? `${base}?${target.query}` : `${base}?${target.query}&${query.slice(1)}`;
}
