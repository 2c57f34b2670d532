// The tooling around the deployment files: the Dockerfile (checked by rule, since no Docker engine
// or hadolint runs here), the deploy and render scripts (run, and linted with shellcheck), and the
// make targets the issue lists.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseConfigText } from '../../src/config/load.js';
import { LAUNCHER_SEMI_SPACE_FLAG } from '../../src/cli/relaunch.js';
import { REPO_ROOT, tempDir } from '../helpers/dito.js';

const run = promisify(execFile);

async function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', [join(REPO_ROOT, script), ...args], {
      env: { ...process.env, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

/** Dockerfile stages by name, each with its instructions (continuation lines joined). */
function stages(): Map<string, string[]> {
  const joined = dockerfile.replace(/\\\n/g, ' ');
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of joined.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const from = /^FROM \S+ AS (\S+)$/.exec(trimmed);
    if (from) {
      current = [];
      out.set(from[1]!, current);
    } else current?.push(trimmed);
  }
  return out;
}

describe('Dockerfile', () => {
  const byStage = stages();

  test('multi-stage, the final stage is the runtime image on Node 24 LTS (the version make test-lts uses)', () => {
    assert.deepEqual([...byStage.keys()], ['build', 'production-dependencies', 'demo', 'runtime']);
    const makefile = readFileSync(join(REPO_ROOT, 'Makefile'), 'utf8');
    const lts = /^NODE_LTS_VERSION := (\S+)$/m.exec(makefile)?.[1];
    assert.match(dockerfile, new RegExp(`^ARG NODE_VERSION=${lts}$`, 'm'));
    assert.match(lts ?? '', /^24\./);
    for (const from of dockerfile.match(/^FROM .*$/gm) ?? []) {
      if (from === 'FROM build AS production-dependencies') continue;
      assert.match(from, /^FROM node:\$\{NODE_VERSION\}-\$\{DEBIAN_RELEASE\}-slim AS /);
    }
  });

  test('the build stage runs the same make targets as the tests', () => {
    const build = byStage.get('build')!.join('\n');
    assert.match(build, /RUN npm ci /);
    assert.match(build, /make build\s+&&/);
    assert.match(build, /make build-plugins /);
  });

  test('runtime: production dependencies only, non-root 1001, tini as PID 1, HEALTHCHECK, no keys', () => {
    const runtime = byStage.get('runtime')!;
    const text = runtime.join('\n');
    assert.match(text, /COPY --from=production-dependencies \S+ \/src\/node_modules/);
    assert.doesNotMatch(text, /COPY --from=build \S* ?\/src\/node_modules/);
    assert.ok(runtime.includes('USER 1001:0'));
    assert.match(
      text,
      /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "--no-memory-reducer", "--max-semi-space-size=4", "\/app\/bin\/dito"\]$/m,
    );
    assert.match(text, /^HEALTHCHECK .*CMD \["node", "-e", .*fetch\(process\.env\.DITO_HEALTHCHECK_URL\)/m);
    assert.match(text, /DITO_HEALTHCHECK_URL=http:\/\/127\.0\.0\.1:8081\/healthz/);
    // The config the image starts with enables the endpoint the HEALTHCHECK calls.
    const config = parseConfigText(readFileSync(join(REPO_ROOT, 'configs/docker.yaml'), 'utf8'), 'c.yaml');
    assert.equal(config.config.health.livenessPath, '/healthz');
    assert.equal(config.config.port, 8081);
    assert.doesNotMatch(dockerfile, /private|\.key\b/i);
  });

  test('every launcher starts Node with the memory tuning of docs/operations.md#memory', () => {
    const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');
    const shebang = read('bin/dito').split('\n')[0];
    assert.equal(
      shebang,
      `#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=33554432 MALLOC_ARENA_MAX=1 node --no-memory-reducer ${LAUNCHER_SEMI_SPACE_FLAG}`,
    );
    assert.match(dockerfile, /^ {4}MALLOC_TRIM_THRESHOLD_=33554432 \\$/m);
    assert.match(dockerfile, /^ {4}MALLOC_ARENA_MAX=1 \\$/m);
    // The other launchers start Dito through bin/dito, so its first line is the one place to set them.
    const makeRun = read('Makefile')
      .split('\n\n')
      .find((block) => block.startsWith('run:'));
    assert.match(makeRun ?? '', /\bbin\/dito -f \$\$config$/m, 'make run starts bin/dito');
    assert.match(read('scripts/quick-start.sh'), /^bin\/dito -f "\$CONFIG"$/m, 'quick-start starts bin/dito');
    assert.equal(JSON.parse(read('package.json')).scripts.start, 'bin/dito -f bin/config.yaml', 'npm start');
    for (const file of ['Makefile', 'scripts/quick-start.sh'])
      assert.doesNotMatch(read(file), /dist\/src\/cli\/dito\.js/, `${file} bypasses bin/dito`);
  });

  test('hadolint-style rules: pinned apt packages without recommends, lists removed, no ADD, no latest', () => {
    for (const instructions of byStage.values()) {
      for (const line of instructions.filter((l) => l.includes('apt-get install'))) {
        assert.match(line, /--no-install-recommends/);
        assert.match(line, /rm -rf \/var\/lib\/apt\/lists\/\*/);
        for (const pkg of line.split('--no-install-recommends ')[1]!.split(' &&')[0]!.trim().split(/\s+/)) {
          assert.match(pkg, /^[a-z0-9.+-]+=\S+$/, `${pkg}: pin the version`);
        }
      }
      assert.ok(!instructions.some((l) => l.startsWith('ADD ')));
    }
    assert.doesNotMatch(dockerfile, /:latest\b/);
  });

  test('.dockerignore keeps keys and local state out of the build context, but not the build inputs', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const pattern of ['keys', '*.key', '*.pem', 'node_modules', 'dist', '.git', 'bin/config.yaml']) {
      assert.ok(ignored.includes(pattern), `${pattern} is ignored`);
    }
    for (const needed of ['src', 'test', 'plugins', 'scripts', 'mk', 'Makefile', 'bin', 'demo', 'configs']) {
      assert.ok(!ignored.includes(needed), `${needed} is part of the build context`);
    }
  });
});

describe('scripts/deploy-ocp.sh', () => {
  test('--help lists the options the original had', async () => {
    const { code, stdout } = await runScript('scripts/deploy-ocp.sh', ['--help']);
    assert.equal(code, 0);
    for (const flag of [
      '-n, --namespace',
      '-v, --version',
      '-f, --force-keys',
      '-c, --config-only',
      '-d, --deploy-only',
    ]) {
      assert.ok(stdout.includes(flag), flag);
    }
  });

  test('bad arguments are refused with a reason', async () => {
    const unknown = await runScript('scripts/deploy-ocp.sh', ['--frobnicate']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown option: --frobnicate/);
    const both = await runScript('scripts/deploy-ocp.sh', ['-c', '-d']);
    assert.match(both.stderr, /exclude each other/);
    const namespace = await runScript('scripts/deploy-ocp.sh', ['-n', 'Bad_NS']);
    assert.match(namespace.stderr, /invalid namespace/);
  });

  test('--dry-run shows every step: keys, config, public-key Secret, Redis, manifests, rollout', async () => {
    const keys = tempDir('dito-prod-keys-');
    const { code, stdout } = await runScript(
      'scripts/deploy-ocp.sh',
      ['--dry-run', '-n', 'shop', '-v', '1.2.3'],
      {
        PROD_KEYS_DIR: keys,
      },
    );
    assert.equal(code, 0);
    assert.match(stdout, /make -C \S+ sign-plugins-prod PROD_KEYS_DIR=/);
    assert.match(stdout, /render-k8s-config\.sh \S+application\.yaml \S+ed25519_public\.key/);
    assert.match(stdout, /oc create configmap dito-config --from-file=config\.yaml=/);
    assert.match(
      stdout,
      /oc create secret generic dito-plugin-public-key --from-file=ed25519_public\.key=\S+ed25519_public\.key /,
    );
    assert.doesNotMatch(stdout, /ed25519_private/);
    assert.match(stdout, /oc apply -n shop -f \S+redis\.yaml/);
    assert.match(stdout, /image-registry\.openshift-image-registry\.svc:5000\/shop\/dito:1\.2\.3/);
    assert.match(stdout, /oc rollout status -n shop deployment\/dito/);

    const configOnly = await runScript('scripts/deploy-ocp.sh', ['--dry-run', '-c'], { PROD_KEYS_DIR: keys });
    assert.match(configOnly.stdout, /create configmap/);
    assert.doesNotMatch(configOnly.stdout, /oc rollout|production-deployment/);
    const deployOnly = await runScript('scripts/deploy-ocp.sh', ['--dry-run', '-d', '--no-redis']);
    assert.doesNotMatch(deployOnly.stdout, /sign-plugins|create configmap|redis\.yaml/);
    assert.match(deployOnly.stdout, /rollout status/);
  });

  test('the scripts pass shellcheck', () => {
    let version: string;
    try {
      version = execFileSync('shellcheck', ['--version'], { encoding: 'utf8' });
    } catch {
      assert.fail('shellcheck is not installed: apt-get install shellcheck (scripts/run-tests.sh tries)');
    }
    assert.match(version, /version/);
    const scripts = ['deploy-ocp.sh', 'render-k8s-config.sh', 'ensure-shellcheck.sh'].map((s) =>
      join(REPO_ROOT, 'scripts', s),
    );
    execFileSync('shellcheck', ['--severity=style', ...scripts], { encoding: 'utf8' });
  });
});

describe('scripts/render-k8s-config.sh (make update-k8s-config)', () => {
  test('fills the template with the public key hash; the result loads', async () => {
    const dir = tempDir('dito-render-');
    const key = join(dir, 'ed25519_public.key');
    writeFileSync(key, '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAexample\n-----END PUBLIC KEY-----\n');
    const output = join(dir, 'config-prod-k8s.yaml');
    const template = join(REPO_ROOT, 'configs/templates/application.yaml');
    const { code } = await runScript('scripts/render-k8s-config.sh', [template, key, output]);
    assert.equal(code, 0);
    const hash = createHash('sha256').update(readFileSync(key)).digest('hex');
    const rendered = readFileSync(output, 'utf8');
    assert.doesNotMatch(rendered, /PLACEHOLDER/);
    assert.equal(parseConfigText(rendered, output).config.plugins?.publicKeyHash, hash);
  });

  test('a missing key is a clear error', async () => {
    const template = join(REPO_ROOT, 'configs/templates/application.yaml');
    const { code, stderr } = await runScript('scripts/render-k8s-config.sh', [
      template,
      '/nonexistent.key',
      '/tmp/x',
    ]);
    assert.equal(code, 1);
    assert.match(stderr, /public key not found: \/nonexistent\.key \(run: make generate-prod-keys\)/);
  });

  test('make update-k8s-config renders with the production key', () => {
    const plan = execFileSync(
      'make',
      [
        '-n',
        '--no-print-directory',
        'update-k8s-config',
        'PROD_KEYS_DIR=/opt/keys',
        'K8S_CONFIG=/tmp/out.yaml',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    assert.match(
      plan,
      /scripts\/render-k8s-config\.sh configs\/templates\/application\.yaml \/opt\/keys\/ed25519_public\.key \/tmp\/out\.yaml/,
    );
  });
});

describe('make help', () => {
  test('lists every deployment target of the original, one line each', () => {
    const help = execFileSync('make', ['-s', '--no-print-directory', 'help'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    const lines = help.split('\n');
    for (const target of [
      'setup-prod',
      'generate-prod-keys',
      'sign-plugins-prod',
      'update-prod-config',
      'update-k8s-config',
      'deploy-ocp',
      'deploy-ocp-dev',
      'status-ocp',
      'logs-ocp',
      'clean-ocp',
      'debug-config',
      'clean-plugins',
      'docker-build',
    ]) {
      const matching = lines.filter((line) => line.split(/\s+/)[0] === target);
      assert.equal(matching.length, 1, `${target} appears once`);
      assert.ok(matching[0]!.trim().length > target.length + 10, `${target} has a description`);
    }
  });
});
