// Server-sent events for the dashboard: one `tick` event a second, built once and written to
// every open stream. The timer runs only while someone listens; streams are bounded in number.
import type { ServerResponse } from 'node:http';

/** Open streams at most: a dashboard tab holds one; more are refused with 503. */
export const MAX_STREAMS = 32;
/** A tick goes out this long after the second turns, once the finished second is counted. */
const TICK_OFFSET_MS = 20;

export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly build: () => unknown) {}

  /** Starts a stream on `res`; false when too many are open. */
  add(res: ServerResponse, headers: Record<string, string>): boolean {
    if (this.closed || this.clients.size >= MAX_STREAMS) return false;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    // Reconnect after 1 s if the stream drops (a reload that moved nothing, a restart).
    res.write('retry: 1000\n\n');
    res.socket?.setNoDelay(true);
    this.clients.add(res);
    res.once('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    this.send(res, this.frame());
    this.schedule();
    return true;
  }

  private frame(): string {
    return `event: tick\ndata: ${JSON.stringify(this.build())}\n\n`;
  }

  private send(res: ServerResponse, frame: string): void {
    // A client that stopped reading is dropped instead of buffered without bound.
    if (res.writableLength > 1024 * 1024) {
      res.destroy();
      return;
    }
    res.write(frame);
  }

  private broadcast(): void {
    if (this.clients.size === 0) return;
    const frame = this.frame();
    for (const client of this.clients) this.send(client, frame);
  }

  /** One extra tick shortly (a reload just finished: show it without waiting for the second). */
  broadcastSoon(): void {
    setTimeout(() => this.broadcast(), 10).unref();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    const delay = 1000 - (Date.now() % 1000) + TICK_OFFSET_MS;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.broadcast();
      if (this.clients.size > 0) this.schedule();
    }, delay);
    this.timer.unref();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Ends every stream (the listener is closing). */
  close(): void {
    this.closed = true;
    this.stop();
    for (const client of this.clients) client.end();
    this.clients.clear();
  }
}
