// Compiles a location's `path` pattern, written for Go's RE2, into a JavaScript RegExp.
// Only the RE2 syntax JavaScript lacks (or reads differently) is translated; the rest passes through.

export interface TranslatedRegex {
  source: string;
  flags: string;
}

/** ASCII expansions of RE2's POSIX classes, usable inside a JavaScript character class. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const LEADING_FLAGS = /^\(\?([a-zA-Z]*)\)/;
const INLINE_FLAGS = /^\(\?[a-zA-Z-]+[:)]/;

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/**
 * Translates RE2-only syntax: leading `(?i)`/`(?s)`/`(?m)` (combined or repeated) become flags,
 * `(?P<name>` becomes `(?<name>`, `\A` and `\z` become text anchors, `\Q...\E` is quoted,
 * `[[:alpha:]]`-style classes are expanded, a `]` first in a class is literal as in RE2, and
 * `\pL`-style classes get braces (and the `u` flag). Throws a SyntaxError for what has no equivalent.
 */
export function translateGoRegex(pattern: string): TranslatedRegex {
  const flags = new Set<string>();
  let rest = pattern;
  for (let m = LEADING_FLAGS.exec(rest); m; m = LEADING_FLAGS.exec(rest)) {
    for (const flag of m[1] ?? '') {
      if (flag === 'U') throw new SyntaxError('flag U (ungreedy) has no JavaScript equivalent');
      if (flag !== 'i' && flag !== 's' && flag !== 'm') throw new SyntaxError(`unknown flag "${flag}"`);
      flags.add(flag);
    }
    rest = rest.slice(m[0].length);
  }
  let out = '';
  let inClass = false;
  let i = 0;
  while (i < rest.length) {
    const ch = rest[i]!;
    const next = rest[i + 1];
    if (ch === '\\') {
      if (next === undefined) throw new SyntaxError('\\ at end of pattern');
      if (next === 'Q' && !inClass) {
        const end = rest.indexOf('\\E', i + 2);
        out += escapeLiteral(rest.slice(i + 2, end === -1 ? undefined : end));
        i = end === -1 ? rest.length : end + 2;
        continue;
      }
      if (!inClass && next === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && next === 'z') out += '(?![\\s\\S])';
      else if ((next === 'p' || next === 'P') && rest[i + 2] !== '{' && rest[i + 2] !== undefined) {
        out += `\\${next}{${rest[i + 2]}}`;
        flags.add('u');
        i += 3;
        continue;
      } else {
        if (next === 'p' || next === 'P') flags.add('u');
        out += ch + next;
      }
      i += 2;
      continue;
    }
    if (inClass) {
      if (ch === '[' && next === ':') {
        const end = rest.indexOf(':]', i + 2);
        const name = end === -1 ? '' : rest.slice(i + 2, end);
        if (name.startsWith('^')) throw new SyntaxError(`negated POSIX class [:${name}:] is not supported`);
        const expansion = POSIX_CLASSES[name];
        if (expansion !== undefined) {
          out += expansion;
          i = end + 2;
          continue;
        }
        if (end !== -1 && /^[a-z]+$/.test(name)) throw new SyntaxError(`unknown POSIX class [:${name}:]`);
      }
      if (ch === ']') inClass = false;
      out += ch === '[' ? '\\[' : ch;
      i += 1;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      const negated = next === '^';
      out += negated ? '[^' : '[';
      i += negated ? 2 : 1;
      // RE2 reads a `]` right after `[` or `[^` as a literal; JavaScript would end the class there.
      if (rest[i] === ']') {
        out += '\\]';
        i += 1;
      }
      continue;
    }
    if (ch === '(' && rest.startsWith('(?P<', i)) {
      out += '(?<';
      i += 4;
      continue;
    }
    if (ch === '(' && INLINE_FLAGS.test(rest.slice(i))) {
      throw new SyntaxError('inline flags such as (?i) are supported only at the start of the pattern');
    }
    out += ch;
    i += 1;
  }
  return { source: out, flags: [...flags].sort().join('') };
}

/** V8 words its errors `Invalid regular expression: /src/flags: reason`; keep only the reason. */
function regexErrorReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cut = message.lastIndexOf(': ');
  return cut === -1 ? message : message.slice(cut + 2);
}

/** Compiles a Go-style pattern; throws a SyntaxError `invalid regular expression: <reason>`. */
export function compileGoRegex(pattern: string): RegExp {
  try {
    const { source, flags } = translateGoRegex(pattern);
    return new RegExp(source, flags);
  } catch (error) {
    throw new SyntaxError(`invalid regular expression: ${regexErrorReason(error)}`);
  }
}
