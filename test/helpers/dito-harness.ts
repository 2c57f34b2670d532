// Runs a DitoApp (what `bin/dito` runs, minus argument parsing) in a child process started with
// `--expose-gc`, so a test can force a full GC and read the JS heap: resident memory alone cannot
// tell a leak from pages the allocator keeps. Talks to the test over IPC.
import { DitoApp } from '../../src/runtime/app.js';

export interface HarnessMeasure {
  heapUsed: number;
  rss: number;
  websocketsActive: number;
  statsActive: number;
  connections: number;
}

async function main(): Promise<void> {
  const configPath = process.argv[2]!;
  const app = await DitoApp.create({ configPath });
  const port = await app.start();
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (message: unknown) => {
    if (message === 'stop') {
      void app.stop('harness').then(() => process.exit(0));
      return;
    }
    gc?.();
    gc?.();
    const memory = process.memoryUsage();
    const measure: HarnessMeasure = {
      heapUsed: memory.heapUsed,
      rss: memory.rss,
      websocketsActive: app.websockets.active,
      statsActive: app.websockets.stats.active,
      connections: app.server?.connections ?? -1,
    };
    process.send!(measure);
  });
  process.send!({ port });
}

void main();
