// Runs a location's middlewares in order (first = outermost), then the terminal handler.
// Compiled once per location; guards the contract a middleware can break at run time:
// `next()` twice, `next()` after answering, a throw or a rejected promise.
import type { Exchange } from '../proxy/exchange.js';
import type { Middleware, Next } from './types.js';

export type Handler = (exchange: Exchange) => void;
export type ChainErrorHandler = (exchange: Exchange, middleware: string, err: unknown) => void;
export type ChainWarning = (exchange: Exchange, middleware: string, problem: string) => void;

export function compileChain(
  middlewares: readonly Middleware[],
  terminal: Handler,
  onError: ChainErrorHandler,
  onWarning: ChainWarning,
): Handler {
  if (middlewares.length === 0) return terminal;

  const step = (exchange: Exchange, index: number): void => {
    if (index === middlewares.length) {
      terminal(exchange);
      return;
    }
    const middleware = middlewares[index]!;
    let called = false;
    const next: Next = (err) => {
      if (called) {
        onWarning(exchange, middleware.name, 'next() called more than once');
        return;
      }
      called = true;
      if (err !== undefined && err !== null) {
        onError(exchange, middleware.name, err);
        return;
      }
      if (exchange.res.writableEnded || exchange.res.headersSent) {
        onWarning(exchange, middleware.name, 'next() called after the response was sent');
        return;
      }
      step(exchange, index + 1);
    };
    // A failure after next() belongs to a request already on its way: report, don't answer twice.
    const fail = (err: unknown): void => {
      if (called) {
        onWarning(exchange, middleware.name, `failed after next(): ${String(err)}`);
        return;
      }
      called = true;
      onError(exchange, middleware.name, err);
    };
    try {
      const result = middleware.handle(exchange, next);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(undefined, (err: unknown) => fail(err));
      }
    } catch (err) {
      fail(err);
    }
  };

  return (exchange) => step(exchange, 0);
}
