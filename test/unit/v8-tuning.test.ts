// The V8 settings Dito applies at run time (src/cli/v8-tuning.ts): set before any other module of the
// CLI runs, left alone when the operator names them, and known to the Node running the tests
// (make test: Node 20; make test-lts: Node 24); on Node 20, undici's parser compiled ahead and reused
// by undici (checked end to end). Their effect on speed and memory is measured in the bench
// (docs/benchmark.md items 8–9 and 15), not asserted here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parserCompileFlags, v8FlagsToSet } from '../../src/cli/v8-tuning.js';
import { REPO_ROOT } from '../helpers/dito.js';

const V8_MAJOR = Number.parseInt(process.versions.v8, 10);

/** What V8 prints when told `flag` (it reports an unknown flag on stdout or stderr). */
function v8Output(flag: string): string {
  const result = spawnSync(
    process.execPath,
    ['-e', `require('node:v8').setFlagsFromString(${JSON.stringify(flag)})`],
    { encoding: 'utf8' },
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

  test('turns pretenuring and concurrent array buffer sweeping off', () => {
    assert.deepEqual(v8FlagsToSet([], '13.6.233.17-node.44'), [
      '--no-allocation-site-pretenuring',
      '--no-concurrent-array-buffer-sweeping',
    ]);
  });

  test('keeps WebAssembly on the baseline compiler on V8 11 (Node 20) only', () => {
    assert.deepEqual(v8FlagsToSet([], '11.3.244.8-node.38'), [
      '--no-allocation-site-pretenuring',
      '--no-concurrent-array-buffer-sweeping',
      '--liftoff-only',
    ]);
    assert.ok(!v8FlagsToSet([], '12.4.254.21-node.33').includes('--liftoff-only'));
    assert.ok(!v8FlagsToSet([], '13.6.233.17-node.44').includes('--liftoff-only'));
  });

  test('leaves a setting the operator named on the command line as V8 has it', () => {
    const v8 = '11.3.244.8-node.38';
    assert.deepEqual(v8FlagsToSet(['--no-memory-reducer', '--allocation-site-pretenuring'], v8), [
      '--no-concurrent-array-buffer-sweeping',
      '--liftoff-only',
    ]);
    assert.deepEqual(
      v8FlagsToSet(
        ['--concurrent-array-buffer-sweeping', '--allocation-site-pretenuring', '--no-liftoff-only'],
        v8,
      ),
      [],
    );
  });

  test("compiles undici's parser ahead where WebAssembly stays on the baseline compiler", () => {
    assert.deepEqual(parserCompileFlags([], '11.3.244.8-node.38'), {
      during: [
        '--no-wasm-lazy-compilation',
        '--no-liftoff',
        '--no-wasm-dynamic-tiering',
        '--turbo-force-mid-tier-regalloc',
      ],
      after: [
        '--wasm-lazy-compilation',
        '--liftoff',
        '--wasm-dynamic-tiering',
        '--no-turbo-force-mid-tier-regalloc',
      ],
    });
    assert.equal(parserCompileFlags([], '12.4.254.21-node.33'), undefined);
    assert.equal(parserCompileFlags([], '13.6.233.17-node.44'), undefined);
    assert.equal(parserCompileFlags(['--no-liftoff-only'], '11.3.244.8-node.38'), undefined);
    assert.deepEqual(parserCompileFlags(['--liftoff', '--wasm-dynamic-tiering'], '11.3.244.8-node.38'), {
      during: ['--no-wasm-lazy-compilation', '--turbo-force-mid-tier-regalloc'],
      after: ['--wasm-lazy-compilation', '--no-turbo-force-mid-tier-regalloc'],
    });
  });

  test(
    "undici's first connection gets the parser compiled ahead, with no compile of its own",
    { skip: V8_MAJOR > 11 && 'V8 12+ keeps its own tiering (nothing compiled ahead)' },
    () => {
      // A real request through undici, with V8 reporting every WebAssembly function it compiles.
      const script = `
        const tuning = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'src', 'cli', 'v8-tuning.js'))});
        const { request } = await import('undici');
        const http = await import('node:http');
        console.log('compiled ahead:', tuning.isParserCompiledAhead());
        console.log('--- first request');
        const server = http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');
        await new Promise((resolve) => server.once('listening', resolve));
        const response = await request('http://127.0.0.1:' + server.address().port + '/');
        console.log('answer:', await response.body.text());
        server.close();
        process.exit(0);
      `;
      const result = spawnSync(
        process.execPath,
        ['--trace-wasm-compilation-times', '--input-type=module', '-e', script],
        { cwd: REPO_ROOT, encoding: 'utf8' },
      );
      assert.equal(result.status, 0, result.stderr);
      const [ahead, afterFirstRequest] = result.stdout.split('--- first request');
      assert.match(ahead!, /compiled ahead: true/);
      assert.match(ahead!, /using TurboFan/);
      assert.match(afterFirstRequest!, /answer: ok/);
      assert.doesNotMatch(afterFirstRequest!, /Compiled function .* using (Liftoff|TurboFan)/);
    },
  );

  test('this Node knows every flag it sets, and would say if it did not', () => {
    for (const flag of [...v8FlagsToSet([]), ...(parserCompileFlags([])?.during ?? [])])
      assert.doesNotMatch(v8Output(flag), /unrecognized flag|unknown flag/i, flag);
    // The check above is only worth something if V8 does report a misspelt flag.
    assert.match(v8Output('--no-allocation-site-pretenurin'), /unrecognized flag|unknown flag/i);
  });
});
