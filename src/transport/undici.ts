// The parts of undici Dito uses: Pool and Client (with the request API, for health checks), the
// connector and the error classes. Importing the package root also loads fetch, WebSocket,
// EventSource, the cache and mock agents: measured at start, ~5 MiB RSS and ~3 MiB heap more.
// The deep paths are undici's own files (no `exports` map restricts them; the version is pinned):
// the same module instances the root re-exports, so `instanceof` and error classes agree.
import { createRequire } from 'node:module';
import type { buildConnector, Client, errors, Pool } from 'undici';

const require = createRequire(import.meta.url);

// As undici's index.js does: request(), stream(), pipeline()... on every dispatcher.
const dispatcherClass = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(dispatcherClass.prototype, require('undici/lib/api/index.js') as object);

export const UndiciPool = require('undici/lib/dispatcher/pool.js') as typeof Pool;
export const UndiciClient = require('undici/lib/dispatcher/client.js') as typeof Client;
export const undiciBuildConnector = require('undici/lib/core/connect.js') as typeof buildConnector;
export const undiciErrors = require('undici/lib/core/errors.js') as typeof errors;
/** undici's internal symbols, for the one place Dito reaches into a Client (compacting-client.ts). */
export const undiciSymbols = require('undici/lib/core/symbols.js') as Record<string, unknown>;
