// The middleware interface shared by built-ins and plugins: Connect-style `next`, with access
// to the whole exchange; a middleware answers early by ending `res`, or passes on with `next()`.
import type { Exchange } from '../proxy/exchange.js';

export type Next = (err?: unknown) => void;

export interface Middleware {
  readonly name: string;
  handle(exchange: Exchange, next: Next): void | Promise<void>;
  /** Releases what the middleware holds (timers, connections); called on shutdown and reload. */
  close?(): Promise<void>;
}
