// The V8 settings Dito applies at run time (src/cli/v8-tuning.ts): set before any other module of the
// CLI runs, and known to the Node running the tests (make test: Node 20; make test-lts: Node 24).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../helpers/dito.js';

const TUNING_MODULE = join(REPO_ROOT, 'dist', 'src', 'cli', 'v8-tuning.js');

/** Output of a Node process that loads `module` (V8 reports an unknown flag on stdout or stderr). */
function outputOfLoading(module: string): string {
  const result = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import ${JSON.stringify(module)};`],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(result.status, 0, result.stderr);
  return `${result.stdout}${result.stderr}`;
}

describe('V8 tuning', () => {
  test('the CLI entry imports it before any other module', () => {
    const source = readFileSync(join(REPO_ROOT, 'src', 'cli', 'dito.ts'), 'utf8');
    const imports = source.split('\n').filter((line) => line.startsWith('import '));
    assert.equal(imports[0], "import './v8-tuning.js';");
  });

  test('turns pretenuring and concurrent array buffer sweeping off, with flags this Node knows', () => {
    const source = readFileSync(join(REPO_ROOT, 'src', 'cli', 'v8-tuning.ts'), 'utf8');
    assert.match(source, /setFlagsFromString\('--no-allocation-site-pretenuring'\)/);
    assert.match(source, /setFlagsFromString\('--no-concurrent-array-buffer-sweeping'\)/);
    assert.doesNotMatch(outputOfLoading(TUNING_MODULE), /unrecognized flag|unknown flag/i);
  });

  test('a flag this Node does not know would be noticed', () => {
    // The check above is only worth something if V8 does report a misspelt flag.
    const output = spawnSync(
      process.execPath,
      ['-e', "require('node:v8').setFlagsFromString('--no-allocation-site-pretenurin')"],
      { encoding: 'utf8' },
    );
    assert.match(`${output.stdout}${output.stderr}`, /unrecognized flag|unknown flag/i);
  });
});
