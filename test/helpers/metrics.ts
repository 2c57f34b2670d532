// Scrapes and parses Prometheus exposition text for assertions, and runs `promtool check metrics`
// (installed by scripts/ensure-promtool.sh when missing and possible).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, tempDir } from './dito.js';
import { request } from './net.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Exposition {
  readonly samples: Sample[] = [];
  /** `# TYPE` of each family. */
  readonly types = new Map<string, string>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type !== null) {
        this.types.set(type[1]!, type[2]!);
        continue;
      }
      if (line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `unparsable exposition line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
      }
      this.samples.push({ name: match[1]!, labels, value: Number(match[3]) });
    }
  }

  /** Samples of `name` whose labels include all of `labels`. */
  find(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  /** The sum of the matching samples' values (0 when none). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.find(name, labels).reduce((sum, s) => sum + s.value, 0);
  }

  /** Distinct values of one label over a family's samples. */
  labelValues(name: string, label: string): Set<string> {
    return new Set(this.find(name).map((s) => s.labels[label]!));
  }
}

export async function scrape(url: string): Promise<Exposition> {
  const reply = await request(url);
  assert.equal(reply.status, 200, `scrape of ${url} answered ${reply.status}: ${reply.text}`);
  assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return new Exposition(reply.text);
}

/**
 * Runs `promtool check metrics` on the text. Returns undefined when it passed, or the reason
 * promtool could not be had (the caller skips loudly); fails the test when promtool objects.
 */
export function promtoolCheck(text: string): string | undefined {
  const unavailable = ensurePromtool();
  if (unavailable !== undefined) return unavailable;
  const check = spawnSync('promtool', ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(check.status, 0, `promtool check metrics failed:\n${check.stdout}${check.stderr}`);
  return undefined;
}

/** Where promtool is, or why it cannot be had (installing it once if missing and possible). */
function ensurePromtool(): string | undefined {
  const ensure = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'ensure-promtool.sh')], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  return ensure.status === 0
    ? undefined
    : (ensure.stderr || ensure.stdout || 'ensure-promtool.sh failed').trim();
}

/**
 * Checks PromQL expressions with `promtool check rules` (each one a recording rule). Same return
 * convention as `promtoolCheck`.
 */
export function promtoolCheckQueries(queries: string[]): string | undefined {
  const unavailable = ensurePromtool();
  if (unavailable !== undefined) return unavailable;
  const rules = queries.map(
    (expr, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expr)}`,
  );
  const file = join(tempDir('dito-promql-'), 'rules.yml');
  writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
  const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(check.status, 0, `promtool check rules failed:\n${check.stdout}${check.stderr}`);
  return undefined;
}
