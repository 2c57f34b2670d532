// Helpers for the admin listener's tests: its port from Dito's `listening` line, an `admin:`
// block, and requests to it.
import type { DitoProcess } from './dito.js';
import { type Reply, request, type RequestOptions } from './net.js';

/** The admin port Dito announced in its `listening` log line. */
export function adminPortOf(dito: DitoProcess): number {
  const line = dito.logs.find((entry) => entry.msg === 'listening');
  const port = line?.admin_port;
  if (typeof port !== 'number') throw new Error('dito did not announce an admin port');
  return port;
}

export function adminUrl(dito: DitoProcess): string {
  return `http://127.0.0.1:${adminPortOf(dito)}`;
}

/** `admin:` on an ephemeral loopback port, plus `extra`. */
export function adminBlock(extra: object = {}): { admin: Record<string, unknown> } {
  return { admin: { enabled: true, port: 0, ...extra } };
}

export async function adminJson<T = Record<string, unknown>>(
  dito: DitoProcess,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const reply: Reply = await request(`${adminUrl(dito)}${path}`, options);
  if (reply.status !== 200) throw new Error(`${path}: ${reply.status} ${reply.text}`);
  return reply.json<T>();
}
