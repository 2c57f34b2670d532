// The facts a reader needs to judge the numbers: cores, memory, kernel, tool and peer versions, Dito's commit.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nginxVersion } from './nginx.mjs';
import { benchDir, repoRoot } from './settings.mjs';

function packageVersion(dir, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function git(...args) {
  const result = spawnSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

export function machineFacts(settings) {
  const wrk = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  const wrkVersion = /wrk (\S+)/.exec(`${wrk.stdout}${wrk.stderr}`)?.[1] ?? null;
  const dirty = git('status', '--porcelain', '--', 'src', 'bin');
  return {
    cores: settings.cores,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
    nginx: nginxVersion(),
    wrk: wrkVersion,
    dito: {
      commit: git('rev-parse', '--short', 'HEAD'),
      dirty: Boolean(dirty),
      bin: path.relative(repoRoot, settings.ditoBin),
    },
    peers: {
      'http-proxy': packageVersion(benchDir, 'http-proxy'),
      fastify: packageVersion(benchDir, 'fastify'),
      '@fastify/http-proxy': packageVersion(benchDir, '@fastify/http-proxy'),
      undici: packageVersion(repoRoot, 'undici'),
    },
  };
}
