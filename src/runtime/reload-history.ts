// The last config loads and reloads with their outcome, for the admin API and dashboard: when,
// why, applied or refused (and the one-line reason), which config hash, how long it took.

/** How many results are kept; older ones are dropped. */
export const RELOAD_HISTORY_SIZE = 20;

export interface ReloadRecord {
  /** Unix time in milliseconds when the load finished. */
  at: number;
  /** `start`, `SIGHUP`, `file changed`, `admin API`, ... */
  reason: string;
  ok: boolean;
  /** The refusal, one line (a config error's `file:line:col: key: message`). */
  error?: string;
  /** SHA-256 of the config file applied (absent when refused before reading it). */
  configSha256?: string;
  durationMs: number;
}

export class ReloadHistory {
  private readonly records: ReloadRecord[] = [];

  add(record: ReloadRecord): void {
    this.records.push(record);
    if (this.records.length > RELOAD_HISTORY_SIZE) this.records.shift();
  }

  /** Newest first. */
  list(): ReloadRecord[] {
    return this.records.slice().reverse();
  }

  get latest(): ReloadRecord | undefined {
    return this.records[this.records.length - 1];
  }
}
