// Collapses concurrent misses for one key into one upstream request: the first miss leads, the
// others wait (bounded) for its outcome. A stored response answers them; anything else (not
// storable, failed, the wait ran out) sends each waiter upstream on its own.
import type { CachedResponse } from './entry.js';

/** Told once: the response the leader stored, or undefined. */
export type FlightWaiter = (response: CachedResponse | undefined) => void;

export class Flight {
  private waiters: FlightWaiter[] | undefined = [];

  constructor(
    private readonly flights: Coalescer,
    readonly key: string,
  ) {}

  /** Waits at most `timeoutMs`; then the waiter is told `undefined` and the flight forgets it. */
  wait(waiter: FlightWaiter, timeoutMs: number): void {
    const waiters = this.waiters;
    if (waiters === undefined) {
      waiter(undefined);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const once: FlightWaiter = (response) => {
      if (timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
      waiter(response);
    };
    timer = setTimeout(() => {
      const index = waiters.indexOf(once);
      if (index !== -1) waiters.splice(index, 1);
      once(undefined);
    }, timeoutMs);
    waiters.push(once);
  }

  /** Ends the flight (idempotent): later misses for the key start a new one. */
  land(response: CachedResponse | undefined): void {
    const waiters = this.waiters;
    if (waiters === undefined) return;
    this.waiters = undefined;
    this.flights.remove(this);
    for (const waiter of waiters) waiter(response);
  }
}

export class Coalescer {
  private readonly flights = new Map<string, Flight>();

  get size(): number {
    return this.flights.size;
  }

  /** The flight already under way for `key`, or undefined after starting one led by the caller. */
  join(key: string): { flight: Flight; leader: boolean } {
    const current = this.flights.get(key);
    if (current !== undefined) return { flight: current, leader: false };
    const flight = new Flight(this, key);
    this.flights.set(key, flight);
    return { flight, leader: true };
  }

  remove(flight: Flight): void {
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
  }

  /** Sends every waiter upstream (shutdown, reload). */
  landAll(): void {
    for (const flight of [...this.flights.values()]) flight.land(undefined);
  }
}
