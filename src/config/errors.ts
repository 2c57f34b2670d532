// A configuration error that names where it is: `file:line:col: key.path: message`.
// Thrown by the loader and by the runtime build (unknown middleware, bad plugin) alike.

export class ConfigError extends Error {
  readonly code = 'DITO_ERR_CONFIG';

  constructor(
    /** `file:line:col` (or just `file` when no position is known). */
    readonly where: string,
    /** Key path as written in YAML, e.g. `locations[1].path`; empty for file-level errors. */
    readonly keyPath: string,
    readonly detail: string,
  ) {
    super(oneLine(keyPath ? `${where}: ${keyPath}: ${detail}` : `${where}: ${detail}`));
    this.name = 'ConfigError';
  }
}

/** Config errors are one line on stderr and in logs: line breaks inside keys or values are escaped. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** Renders ['locations', 1, 'path'] as `locations[1].path`. */
export function formatKeyPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}
