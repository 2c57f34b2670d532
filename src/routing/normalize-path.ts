// Request path normalisation (RFC 3986 section 6.2.2): what routing matches and what the
// upstream receives are the same string, so `^/admin` cannot be bypassed by spelling.

/** Thrown for a path that climbs above the root or is not a path at all. */
export class InvalidPathError extends Error {
  constructor(readonly reason: 'traversal' | 'malformed') {
    super(reason === 'traversal' ? 'path climbs above the root' : 'malformed request path');
    this.name = 'InvalidPathError';
  }
}

// Most paths need no work: no percent-escapes, no dot segments, no doubled slashes.
// One regex test decides, so the common case costs a single scan.
const NEEDS_WORK = /%|\/\/|\/\.(?:\/|\.?(?:\/|$))|\/\.$|^[^/]/;

const HEX = '0123456789ABCDEF';

function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || // -
    code === 0x2e || // .
    code === 0x5f || // _
    code === 0x7e // ~
  );
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** Decodes percent-encoded unreserved characters and upper-cases the hex of the rest. */
function normalizePercentEncoding(path: string): string {
  if (!path.includes('%')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path.charCodeAt(i);
    if (ch !== 0x25) {
      out += path[i];
      continue;
    }
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) throw new InvalidPathError('malformed');
    const byte = hi * 16 + lo;
    if (isUnreserved(byte)) out += String.fromCharCode(byte);
    else out += `%${HEX[hi]}${HEX[lo]}`;
    i += 2;
  }
  return out;
}

/**
 * Returns the normalised form of an origin-form path (no query): percent-encoded unreserved
 * characters decoded (`/%61dmin` → `/admin`), `.` and `..` segments removed, repeated slashes
 * merged; `%2F` stays encoded. A path that climbs above the root throws InvalidPathError.
 */
export function normalizePath(path: string): string {
  if (!NEEDS_WORK.test(path)) return path;
  if (path.charCodeAt(0) !== 0x2f) throw new InvalidPathError('malformed');
  const decoded = normalizePercentEncoding(path);
  const segments = decoded.split('/');
  const out: string[] = [];
  // segments[0] is the empty string before the leading slash.
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '') {
      // A trailing `.` or empty segment keeps the trailing slash: `/a/.` → `/a/`.
      if (last) out.push('');
      continue;
    }
    if (segment === '..') {
      if (out.length === 0 || (out.length === 1 && out[0] === '')) throw new InvalidPathError('traversal');
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

/**
 * Splits a request target into path and query (`?` included in the query, or ''), accepting
 * origin-form (`/a?b`) and absolute-form (`http://h/a?b`). Anything else is malformed.
 */
export function splitTarget(target: string): { path: string; query: string } {
  let pathStart = 0;
  if (target.charCodeAt(0) !== 0x2f) {
    const scheme = target.indexOf('://');
    if (scheme <= 0) throw new InvalidPathError('malformed');
    const slash = target.indexOf('/', scheme + 3);
    if (slash < 0) {
      const q = target.indexOf('?', scheme + 3);
      return { path: '/', query: q < 0 ? '' : target.slice(q) };
    }
    pathStart = slash;
  }
  const q = target.indexOf('?', pathStart);
  if (q < 0) return { path: pathStart === 0 ? target : target.slice(pathStart), query: '' };
  return { path: target.slice(pathStart, q), query: target.slice(q) };
}
