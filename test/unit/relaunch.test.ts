// The version-dependent Node flags bin/dito restarts with (src/cli/relaunch.ts): which Node gets
// them, that an operator's own heap sizing wins, and, started for real, that the restart keeps the
// pid and every flag of the command line (make test: Node 20, no restart; make test-lts: Node 24).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import {
  LAUNCHER_SEMI_SPACE_FLAG,
  OLD_SPACE_FLOOR_FLAG,
  relaunchExecArgv,
  V8_13_SEMI_SPACE_FLAG,
  versionFlagsToAdd,
} from '../../src/cli/relaunch.js';
import { DITO_BIN, type DitoProcess, startDito } from '../helpers/dito.js';

describe('relaunch with version-dependent Node flags', () => {
  test('V8 13 and later (Node 24) get the old-generation floor; V8 11 and 12 (Node 20, 22) nothing', () => {
    assert.deepEqual(versionFlagsToAdd('13.6.233.17-node.44', []), [OLD_SPACE_FLOOR_FLAG]);
    assert.deepEqual(versionFlagsToAdd('14.1.0', ['--no-memory-reducer']), [OLD_SPACE_FLOOR_FLAG]);
    assert.deepEqual(versionFlagsToAdd('12.4.254.21-node.33', []), []);
    assert.deepEqual(versionFlagsToAdd('11.3.244.8-node.33', []), []);
  });

  test("an operator's own old-generation sizing, on the command line or in NODE_OPTIONS, wins", () => {
    for (const flag of [
      '--initial-old-space-size=40',
      '--max-old-space-size=512',
      '--max_old_space_size=512',
    ])
      assert.deepEqual(versionFlagsToAdd('13.6', [flag]), [], flag);
    assert.deepEqual(versionFlagsToAdd('13.6', [], '--trace-warnings --max-old-space-size=256'), []);
    // Names that only start the same are not sizing.
    assert.deepEqual(versionFlagsToAdd('13.6', ['--max-old-space-size-typo']), [OLD_SPACE_FLOOR_FLAG]);
  });

  test("V8 13 swaps the launcher's young-generation size for its own; V8 11 and 12 keep it", () => {
    const launcher = ['--no-memory-reducer', LAUNCHER_SEMI_SPACE_FLAG];
    assert.deepEqual(relaunchExecArgv('13.6', launcher), [
      OLD_SPACE_FLOOR_FLAG,
      '--no-memory-reducer',
      V8_13_SEMI_SPACE_FLAG,
    ]);
    assert.equal(relaunchExecArgv('11.3', launcher), undefined);
    assert.equal(relaunchExecArgv('12.4', launcher), undefined);
    // The operator's old-generation sizing wins, and the swap alone still restarts.
    assert.deepEqual(relaunchExecArgv('13.6', [...launcher, '--max-old-space-size=512']), [
      '--no-memory-reducer',
      V8_13_SEMI_SPACE_FLAG,
      '--max-old-space-size=512',
    ]);
    // An operator's own size (another value) is kept; nothing to do means no restart.
    assert.deepEqual(relaunchExecArgv('13.6', ['--max-semi-space-size=16']), [
      OLD_SPACE_FLOOR_FLAG,
      '--max-semi-space-size=16',
    ]);
    assert.equal(
      relaunchExecArgv('13.6', ['--max-semi-space-size=16'], '--max-old-space-size=256'),
      undefined,
    );
  });

  describe('bin/dito on this Node', () => {
    let dito: DitoProcess | undefined;
    after(async () => {
      if (dito?.proc.exitCode === null) await dito.stop();
    });

    test('runs with the flags this Node needs, in the process it was started as', async () => {
      dito = await startDito({ port: 0, locations: [{ path: '^/', target_url: 'http://127.0.0.1:9' }] });
      // Read from the process the test spawned: a restart under another pid would fail here.
      const args = readFileSync(`/proc/${dito.proc.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      // The helper starts `node bin/dito` with no flags of its own.
      const added = versionFlagsToAdd(process.versions.v8, [], process.env.NODE_OPTIONS);
      assert.deepEqual(args, [process.execPath, ...added, DITO_BIN, '-f', dito.configPath]);
      assert.equal((await fetch(`${dito.url}/`)).status, 502);
      assert.doesNotMatch(dito.stderr(), /running without/);
      // Signals reach the Dito that serves: SIGTERM drains and exits 0.
      assert.equal(await dito.stop(), 0);
    });

    test('run as a program, it starts Node with the young generation this Node runs best with', async () => {
      dito = await startDito(
        { port: 0, locations: [{ path: '^/', target_url: 'http://127.0.0.1:9' }] },
        { asProgram: true },
      );
      const args = readFileSync(`/proc/${dito.proc.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const launcher = ['--no-memory-reducer', LAUNCHER_SEMI_SPACE_FLAG];
      const expected = relaunchExecArgv(process.versions.v8, launcher, process.env.NODE_OPTIONS) ?? launcher;
      // argv[0] is `node` as env found it, or this Node's path after a restart.
      assert.deepEqual(args.slice(1), [...expected, DITO_BIN, '-f', dito.configPath]);
      assert.equal((await fetch(`${dito.url}/`)).status, 502);
      assert.equal(await dito.stop(), 0);
    });
  });
});
