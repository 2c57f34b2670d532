// Watches the config file and the files it names (certificates, htpasswd, keys, plugins) and
// asks for a reload when what they contain changes. Robust to how files really get replaced:
// editors that save by rename, Kubernetes ConfigMap symlink swaps (`..data`), bursts of writes
// (debounced), and half-written files (the content must hold still before it is applied).
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { DitoConfig } from '../config/types.js';

/** Quiet time after the last event before looking at the files. */
const DEBOUNCE_MS = 100;
/** A file must read the same twice this far apart before it counts as written. */
const SETTLE_MS = 60;
/** Safety net for filesystems whose change events are unreliable (network mounts, some VMs). */
const POLL_MS = 750;

/** Every file a config depends on besides itself, as absolute paths. */
export function filesNamedBy(config: DitoConfig): string[] {
  const files = new Set<string>();
  const add = (file: string | undefined) => {
    if (file) files.add(resolve(file));
  };
  add(config.tls?.certFile);
  add(config.tls?.keyFile);
  add(config.tls?.caFile);
  for (const t of [config.transport, ...config.locations.map((l) => l.transport)]) {
    add(t.certFile);
    add(t.keyFile);
    add(t.caFile);
  }
  for (const location of config.locations) {
    const auth = location.auth;
    if (auth?.type === 'basic') add(auth.htpasswdFile);
    if (auth?.type === 'jwt') add(auth.publicKeyFile);
  }
  add(config.plugins?.publicKeyPath);
  return [...files];
}

/** Content fingerprint of the watched set: the config's bytes and its files' bytes. */
async function fingerprint(
  configPath: string,
  files: readonly string[],
  pluginsDir?: string,
): Promise<string> {
  const hash = createHash('sha256');
  const addFile = async (file: string) => {
    hash.update(file);
    try {
      hash.update(await readFile(file));
    } catch {
      hash.update('\0missing');
    }
  };
  await addFile(configPath);
  for (const file of files) await addFile(file);
  if (pluginsDir !== undefined) {
    for (const file of await listPluginFiles(pluginsDir)) await addFile(file);
  }
  return hash.digest('hex');
}

async function listPluginFiles(directory: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for (const entry of (await readdir(directory, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      for (const file of (await readdir(join(directory, entry.name))).sort())
        out.push(join(directory, entry.name, file));
    }
  } catch {
    // A missing plugins directory is the loader's error to report, not the watcher's.
  }
  return out;
}

export interface WatchTarget {
  configPath: string;
  files: string[];
  pluginsDir?: string;
}

export class ConfigWatcher {
  private watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private lastApplied = '';
  private lastStat = '';
  private checking = false;
  private pending = false;
  private closed = false;

  constructor(
    private target: WatchTarget,
    /** Applies the files as they are now; resolves true when the reload was accepted. */
    private readonly onChange: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  async start(): Promise<void> {
    this.lastApplied = await fingerprint(this.target.configPath, this.target.files, this.target.pluginsDir);
    this.lastStat = await this.statSignature();
    this.rewatch();
    this.poll = setInterval(() => void this.pollOnce(), POLL_MS);
    this.poll.unref();
  }

  /** After a reload: the new config may name other files. */
  async retarget(target: WatchTarget): Promise<void> {
    this.target = target;
    this.lastApplied = await fingerprint(target.configPath, target.files, target.pluginsDir);
    this.lastStat = await this.statSignature();
    this.rewatch();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /** Watches folders, not files: a rename or symlink swap replaces the file a file-watch would hold. */
  private rewatch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    const dirs = new Set([
      dirname(resolve(this.target.configPath)),
      ...this.target.files.map((f) => dirname(f)),
    ]);
    if (this.target.pluginsDir !== undefined) dirs.add(resolve(this.target.pluginsDir));
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.schedule());
        watcher.on('error', () => {
          // The folder went away (or the watch failed): the poll keeps us covered.
        });
        this.watchers.push(watcher);
      } catch {
        // Unwatchable folder: covered by the poll.
      }
    }
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.check(), DEBOUNCE_MS);
  }

  /** Cheap poll: stat only; a change leads to the full content check. */
  private async pollOnce(): Promise<void> {
    if (this.closed || this.checking) return;
    const signature = await this.statSignature();
    if (signature !== this.lastStat) this.schedule();
  }

  private async statSignature(): Promise<string> {
    const parts: string[] = [];
    for (const file of [this.target.configPath, ...this.target.files]) {
      try {
        const s = await stat(file);
        parts.push(`${file}:${s.ino}:${s.size}:${s.mtimeMs}`);
      } catch {
        parts.push(`${file}:missing`);
      }
    }
    if (this.target.pluginsDir !== undefined) {
      for (const file of await listPluginFiles(this.target.pluginsDir)) {
        try {
          const s = await stat(file);
          parts.push(`${file}:${s.ino}:${s.size}:${s.mtimeMs}`);
        } catch {
          parts.push(`${file}:missing`);
        }
      }
    }
    return parts.join('|');
  }

  private async check(): Promise<void> {
    if (this.closed) return;
    if (this.checking) {
      this.pending = true;
      return;
    }
    this.checking = true;
    try {
      // A writer in the middle of a save produces a different fingerprint on the second read.
      let current = await fingerprint(this.target.configPath, this.target.files, this.target.pluginsDir);
      for (let attempt = 0; attempt < 10; attempt++) {
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        const again = await fingerprint(this.target.configPath, this.target.files, this.target.pluginsDir);
        if (again === current) break;
        current = again;
      }
      this.lastStat = await this.statSignature();
      if (current === this.lastApplied) return;
      this.lastApplied = current;
      await this.onChange();
    } catch (err) {
      this.onError(err);
    } finally {
      this.checking = false;
      if (this.pending && !this.closed) {
        this.pending = false;
        this.schedule();
      }
    }
  }
}
