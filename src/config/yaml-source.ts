// The YAML layer of the loader: parses text into plain data and keeps the node tree so that any
// key path can be mapped back to `file:line:col`. Syntax errors and duplicate keys end here.
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type YAMLMap,
} from 'yaml';
import { ConfigError, formatKeyPath } from './errors.js';

export type KeyPath = ReadonlyArray<string | number>;

/** What a position should point at: the value at the path, its key, or the mapping holding it. */
export type Anchor = 'value' | 'key' | 'parent';

export interface Position {
  offset: number;
  line: number;
  col: number;
}

interface Found {
  key?: Node | null;
  value: Node | null;
}

/** Aliases and merge keys share nodes; the billion-laughs guard of `yaml` caps their expansion. */
const MAX_ALIAS_COUNT = 100;

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && key.value === '<<';
}

export class YamlSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Parses `text`, refusing syntax errors, warnings (e.g. unknown tags), duplicate and complex keys. */
  static parse(text: string, file: string): { source: YamlSource; data: unknown } {
    const lines = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: false,
      merge: true,
      strict: true,
    });
    const source = new YamlSource(file, doc, lines);
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) {
      const firstLine = problem.message.split('\n')[0] ?? problem.message;
      throw new ConfigError(source.where(problem.pos[0]), '', firstLine.replace(/\.$/, ''));
    }
    if (doc.contents === null)
      throw new ConfigError(`${file}:1:1`, '', 'the file is empty: expected a mapping');
    if (!isMap(doc.contents)) {
      const kind = isSeq(doc.contents) ? 'a list' : 'a single value';
      throw new ConfigError(
        source.where(doc.contents.range?.[0]),
        '',
        `expected a mapping (key: value pairs), got ${kind}`,
      );
    }
    source.checkKeys(doc.contents, []);
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ConfigError(`${file}:1:1`, '', message.split('\n')[0] ?? message);
    }
    return { source, data };
  }

  /** `file:line:col` of an offset; just `file` when unknown. */
  where(offset: number | undefined): string {
    if (offset === undefined) return this.file;
    const { line, col } = this.lines.linePos(offset);
    return `${this.file}:${line}:${col}`;
  }

  /** Position for `path`; falls back to the deepest ancestor present in the file. */
  position(path: KeyPath, anchor: Anchor = 'value'): Position | undefined {
    const target = anchor === 'parent' ? path.slice(0, -1) : path;
    for (let depth = target.length; depth >= 0; depth -= 1) {
      const found = this.find(target.slice(0, depth));
      if (!found) continue;
      const useKey = depth === target.length && anchor === 'key' ? true : found.value === null;
      const node = useKey ? (found.key ?? found.value) : found.value;
      const offset = node?.range?.[0];
      if (offset === undefined) continue;
      const { line, col } = this.lines.linePos(offset);
      return { offset, line, col };
    }
    return undefined;
  }

  /**
   * Where an issue falls in file order. A missing key is only known once its whole mapping has
   * been read, so it sorts at the mapping's end: a misspelt key inside it is reported first.
   */
  orderOf(path: KeyPath, anchor: Anchor): number {
    if (anchor === 'parent') {
      const parent = this.find(path.slice(0, -1));
      const end = this.resolve(parent?.value)?.range?.[1];
      if (end !== undefined) return end;
    }
    return this.position(path, anchor)?.offset ?? Number.MAX_SAFE_INTEGER;
  }

  /** Maps a key path to `file:line:col` (see `LoadedConfig.locate`). */
  locate(path: KeyPath, anchor: Anchor = 'value'): string {
    const pos = this.position(path, anchor);
    return pos ? `${this.file}:${pos.line}:${pos.col}` : this.file;
  }

  private find(path: KeyPath): Found | undefined {
    let found: Found = { value: this.doc.contents as Node | null };
    for (const part of path) {
      const node = this.resolve(found.value);
      let next: Found | undefined;
      if (isMap(node) && typeof part === 'string') {
        const pair = this.pairIn(node, part, 0);
        if (pair) next = { key: pair.key as Node | null, value: pair.value as Node | null };
      } else if (isSeq(node) && typeof part === 'number') {
        const item = node.items[part];
        if (item !== undefined) next = { value: item as Node | null };
      }
      if (!next) return undefined;
      found = next;
    }
    return found;
  }

  private resolve(node: Node | null | undefined): Node | null {
    let current = node ?? null;
    for (let hops = 0; isAlias(current) && hops < MAX_ALIAS_COUNT; hops += 1) {
      current = (current.resolve(this.doc) as Node | undefined) ?? null;
    }
    return current;
  }

  /** The pair for `key` in a map; keys of the map itself win over keys merged in with `<<`. */
  private pairIn(map: YAMLMap, key: string, depth: number): Pair | undefined {
    let merged: Pair | undefined;
    for (const pair of map.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key && !isMergeKey(pair.key)) return pair;
      if (merged || depth > 8 || !isMergeKey(pair.key)) continue;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        const resolved = this.resolve(source as Node | null);
        if (isMap(resolved)) merged = this.pairIn(resolved, key, depth + 1);
        if (merged) break;
      }
    }
    return merged;
  }

  /** Refuses duplicate keys (the later one is reported) and keys that are not plain scalars. */
  private checkKeys(node: unknown, path: Array<string | number>): void {
    if (isSeq(node)) {
      node.items.forEach((item, index) => {
        this.checkKeys(item, [...path, index]);
      });
      return;
    }
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = pair.key;
      if (isCollection(key) || isAlias(key) || (isScalar(key) && key.value === null)) {
        const keyNode = key as Node | null;
        const where = this.where(keyNode?.range?.[0] ?? node.range?.[0]);
        throw new ConfigError(where, formatKeyPath(path), 'keys must be plain strings');
      }
      if (!isScalar(key)) continue;
      const name = String(key.value);
      if (isMergeKey(key)) continue;
      if (seen.has(name)) {
        throw new ConfigError(
          this.where(key.range?.[0]),
          formatKeyPath([...path, name]),
          `duplicate key "${name}"`,
        );
      }
      seen.add(name);
      this.checkKeys(pair.value, [...path, name]);
    }
  }
}
