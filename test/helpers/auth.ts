// Test helpers for the auth middleware: a middleware context from a config snippet, a fake
// exchange whose response records what Dito answered, bcrypt hashes and signed tokens.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { type JWTPayload, SignJWT } from 'jose';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import type { Exchange } from '../../src/proxy/exchange.js';
import type { MiddlewareContext } from '../../src/runtime/middleware-registry.js';
import { tempDir } from './dito.js';

/** Cheap bcrypt (cost 4): the tests check logic, not bcrypt's work factor. */
export function bcryptHash(password: string, cost = 4): string {
  return bcrypt.hashSync(password, cost);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * Loads a one-location config with `auth` (and `dir` for relative files) and returns the
 * context the runtime would give the factory.
 */
export function authContext(
  auth: Record<string, unknown>,
  options: { dir?: string; carry?: Map<string, unknown> } = {},
): MiddlewareContext & { logs: Array<Record<string, unknown>>; logText(): string } {
  const dir = options.dir ?? tempDir('dito-auth-');
  const text = stringify({
    locations: [{ path: '^/', target_url: 'http://127.0.0.1:9', middlewares: ['auth'], auth }],
  });
  const loaded = parseConfigText(text, join(dir, 'config.yaml'));
  const lines: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const sink = {
    write(line: string) {
      lines.push(line);
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  return {
    logs,
    logText: () => lines.join(''),
    config: loaded.config,
    location: loaded.config.locations[0]!,
    logger: pino({ level: 'debug' }, sink),
    carry: options.carry ?? new Map(),
    locate: loaded.locate,
  };
}

export interface Recorded {
  status: number;
  headers: Record<string, string | number>;
  body: string;
  ended: boolean;
}

/** An exchange on which `sendError` can answer; `recorded` says what it answered. */
export function fakeExchange(
  headers: IncomingHttpHeaders = {},
  query = '',
): { exchange: Exchange; recorded: Recorded } {
  const recorded: Recorded = { status: 0, headers: {}, body: '', ended: false };
  const req = { method: 'GET', headers, rawHeaders: [] } as unknown as IncomingMessage;
  const res = {
    req,
    headersSent: false,
    writableEnded: false,
    set statusCode(value: number) {
      recorded.status = value;
    },
    setHeader(name: string, value: string | number) {
      recorded.headers[name.toLowerCase()] = value;
    },
    removeHeader(name: string) {
      delete recorded.headers[name.toLowerCase()];
    },
    end(body?: string) {
      recorded.body = body ?? '';
      recorded.ended = true;
      (this as { writableEnded: boolean }).writableEnded = true;
    },
  } as unknown as ServerResponse;
  const exchange: Exchange = {
    req,
    res,
    requestId: 'rid-test',
    clientIp: '127.0.0.1',
    proto: 'http',
    startedAt: 0,
    path: '/',
    query,
    expectContinue: false,
    bytesIn: 0,
    bytesOut: 0,
    retries: 0,
    headersEdited: true,
  };
  return { exchange, recorded };
}

export const HS_SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';

export interface TestKeys {
  rsa: { publicKey: KeyObject; privateKey: KeyObject };
  ec: { publicKey: KeyObject; privateKey: KeyObject };
  ed: { publicKey: KeyObject; privateKey: KeyObject };
}

export function testKeys(): TestKeys {
  return {
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ec: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    ed: generateKeyPairSync('ed25519'),
  };
}

/** Signs `claims` (default: sub alice, iat now, exp in 5 min) with `alg`. */
export function signToken(
  alg: string,
  key: KeyObject | Uint8Array,
  claims: JWTPayload = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'alice', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg, ...header })
    .sign(key);
}

export function secretKey(secret = HS_SECRET): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** `alg: none`: an unsigned token (empty signature part). */
export function unsignedToken(claims: JWTPayload = { sub: 'alice' }): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}
