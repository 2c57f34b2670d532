// What the admin listener reads from the running Dito and may ask of it: the interface DitoApp
// hands to src/admin/, so the admin module never reaches into the app's internals.
import type { LoadedConfig } from '../config/types.js';
import type { LiveStats } from '../observability/live-stats.js';
import type { LoadedPlugin } from '../plugins/loader.js';
import type { RedisHandle } from '../redis/handle.js';
import type { ReloadRecord } from '../runtime/reload-history.js';
import type { Runtime } from '../runtime/runtime.js';

export interface AdminSource {
  /** The config now serving. */
  readonly loaded: LoadedConfig;
  /** Unix ms when it was loaded. */
  readonly loadedAt: number;
  /** Unix ms when the process started serving. */
  readonly startedAt: number;
  /** The runtime now serving (locations in match order). */
  readonly runtime: Runtime | undefined;
  readonly plugins: readonly LoadedPlugin[];
  readonly redis: RedisHandle | undefined;
  /** Newest first. */
  readonly reloads: readonly ReloadRecord[];
  /** Live numbers; present while `admin.enabled`. */
  readonly live: LiveStats | undefined;
  /** Reloads the config file (concurrent calls share one reload); resolves with its record. */
  reload(reason: string): Promise<ReloadRecord | undefined>;
}
