// Deployment files: every YAML parses, every config loads with the real loader, every Kubernetes
// and OpenShift object passes a strict schema check, the security settings and probes are what
// docs/deployment.md promises, the Compose file names services and files that exist.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import type { DitoConfig } from '../../src/config/types.js';
import { REPO_ROOT } from '../helpers/dito.js';
import { manifestProblems } from '../helpers/k8s-schema.js';

type Doc = Record<string, unknown> & { kind: string; metadata: { name: string } };
// Loose views of manifest parts the assertions read.
type Container = Record<string, unknown> & {
  name: string;
  securityContext: Record<string, unknown>;
  resources?: { requests?: object; limits?: object };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  ports?: Array<{ name?: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
};
type PodSpec = {
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string }; configMap?: { name: string } }>;
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
};

function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...yamlFilesUnder(path));
    else if (/\.ya?ml$/.test(name)) out.push(path);
  }
  return out.sort();
}

function documents(file: string): Doc[] {
  return parseAllDocuments(readFileSync(file, 'utf8'), { merge: true }).map((doc) => {
    assert.deepEqual(doc.errors, [], `${file}: ${doc.errors[0]?.message}`);
    return doc.toJS() as Doc;
  });
}

const rel = (file: string) => relative(REPO_ROOT, file);
const KUBERNETES = join(REPO_ROOT, 'deployments/kubernetes');
const OPENSHIFT = join(REPO_ROOT, 'deployments/openshift');
const manifestFiles = (dir: string) => yamlFilesUnder(dir).filter((f) => !f.endsWith('kustomization.yaml'));
const objectsIn = (dir: string) => manifestFiles(dir).flatMap((file) => documents(file));
const named = (objects: Doc[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

function loadConfig(text: string, file: string): DitoConfig {
  return parseConfigText(text, file).config;
}

/** configs/templates/application.yaml with a well-formed hash in place of the placeholder. */
function renderedTemplate(): string {
  const template = readFileSync(join(REPO_ROOT, 'configs/templates/application.yaml'), 'utf8');
  return template.replaceAll('PLACEHOLDER_HASH_TO_BE_REPLACED', 'ab'.repeat(32));
}

describe('YAML files', () => {
  for (const file of [
    ...yamlFilesUnder(join(REPO_ROOT, 'deployments')),
    ...yamlFilesUnder(join(REPO_ROOT, 'configs')),
  ]) {
    test(`${rel(file)} parses`, () => {
      assert.ok(documents(file).length > 0);
    });
  }
});

describe('configs load with the real loader', () => {
  const configs = ['configs/dev.yaml', 'configs/staging.yaml', 'configs/prod.yaml', 'configs/docker.yaml'];
  for (const file of [...configs, 'deployments/docker/config.yaml']) {
    test(file, () => {
      const config = loadConfig(readFileSync(join(REPO_ROOT, file), 'utf8'), join(REPO_ROOT, file));
      assert.equal(config.health.enabled, true, 'health endpoints on (probes and HEALTHCHECK use them)');
    });
  }
  test('configs/templates/application.yaml once its hash is filled in', () => {
    const template = readFileSync(join(REPO_ROOT, 'configs/templates/application.yaml'), 'utf8');
    assert.match(template, /public_key_hash: PLACEHOLDER_HASH_TO_BE_REPLACED/);
    const config = loadConfig(renderedTemplate(), '/etc/dito/config/config.yaml');
    assert.equal(config.plugins?.directory, '/etc/dito/plugins');
    assert.equal(config.plugins?.publicKeyPath, '/etc/dito/keys/ed25519_public.key');
  });
  test('the ConfigMap in deployments/kubernetes holds a loadable config', () => {
    const configMap = named(objectsIn(KUBERNETES), 'ConfigMap', 'dito-config');
    const text = (configMap?.data as Record<string, string>)['config.yaml']!;
    assert.equal(loadConfig(text, '/etc/dito/config/config.yaml').health.enabled, true);
  });
});

describe('Kubernetes and OpenShift objects pass a strict schema check', () => {
  for (const file of [...manifestFiles(KUBERNETES), ...manifestFiles(OPENSHIFT)]) {
    for (const doc of documents(file)) {
      test(`${rel(file)}: ${doc.kind} ${doc.metadata.name}`, () => {
        assert.deepEqual(manifestProblems(doc), []);
      });
    }
  }
  test('the checker refuses a misspelt field and a wrong type (it is not vacuous)', () => {
    const deployment = structuredClone(named(objectsIn(KUBERNETES), 'Deployment', 'dito')!);
    const pod = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
    pod.containers[0]!.securityContext.readOnlyRootFileSystem = true;
    pod.containers[0]!.ports![0]!.containerPort = 'http' as unknown as number;
    const problems = manifestProblems(deployment).join('\n');
    assert.match(problems, /securityContext\/readOnlyRootFileSystem: unknown field/);
    assert.match(problems, /containerPort: type \{"type":"integer"\}/);
    const route = structuredClone(named(objectsIn(OPENSHIFT), 'Route', 'dito')!);
    (route.spec as { tls: Record<string, string> }).tls.termination = 'edgy';
    assert.match(manifestProblems(route).join('\n'), /termination: must be one of/);
  });
  test('kustomization.yaml lists every manifest beside it', () => {
    const kustomization = documents(join(KUBERNETES, 'kustomization.yaml'))[0] as { resources?: string[] };
    const listed = [...(kustomization.resources ?? [])].sort();
    assert.deepEqual(
      listed,
      manifestFiles(KUBERNETES)
        .map((f) => relative(KUBERNETES, f))
        .sort(),
    );
  });
});

function podSpec(deployment: Doc): PodSpec {
  return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
}

function podLabels(deployment: Doc): Record<string, string> {
  return (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
    .labels;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

for (const [platform, dir] of [
  ['kubernetes', KUBERNETES],
  ['openshift', OPENSHIFT],
] as const) {
  describe(`${platform}: security, probes, wiring`, () => {
    const objects = objectsIn(dir);
    const deployments = objects.filter((o) => o.kind === 'Deployment');

    test('every pod: non-root, seccomp RuntimeDefault, read-only root, no capabilities, no escalation', () => {
      assert.ok(deployments.length >= 2, 'Dito and Redis');
      for (const deployment of deployments) {
        const pod = podSpec(deployment);
        const where = deployment.metadata.name;
        assert.equal(pod.securityContext.runAsNonRoot, true, where);
        assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' }, where);
        assert.equal(pod.automountServiceAccountToken, false, where);
        for (const container of pod.containers) {
          const sc = container.securityContext;
          assert.equal(sc.readOnlyRootFilesystem, true, `${where}/${container.name}`);
          assert.equal(sc.allowPrivilegeEscalation, false, `${where}/${container.name}`);
          assert.equal(sc.privileged, false, `${where}/${container.name}`);
          assert.equal(sc.runAsNonRoot, true, `${where}/${container.name}`);
          assert.deepEqual(sc.capabilities, { drop: ['ALL'] }, `${where}/${container.name}`);
          assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' }, `${where}/${container.name}`);
          assert.ok(container.resources?.requests && container.resources.limits, `${where}: resources`);
        }
      }
    });

    if (platform === 'kubernetes') {
      test('Dito runs as UID 1001 (the image user)', () => {
        const dito = named(objects, 'Deployment', 'dito')!;
        assert.equal(podSpec(dito).securityContext.runAsUser, 1001);
      });
    } else {
      test('no fixed UID, GID or fsGroup anywhere (restricted-v2 SCC assigns them)', () => {
        for (const file of manifestFiles(dir)) {
          assert.doesNotMatch(readFileSync(file, 'utf8'), /^\s*(runAsUser|runAsGroup|fsGroup):/m, rel(file));
        }
      });
      test('a Route with edge TLS to the Dito Service', () => {
        const route = named(objects, 'Route', 'dito')!;
        const spec = route.spec as { to: { name: string }; port: { targetPort: string }; tls: object };
        const service = named(objects, 'Service', spec.to.name);
        assert.ok(service, 'the Route names an existing Service');
        const ports = (service.spec as { ports: Array<{ name: string }> }).ports;
        assert.ok(ports.some((p) => p.name === spec.port.targetPort));
        assert.deepEqual(spec.tls, { termination: 'edge', insecureEdgeTerminationPolicy: 'Redirect' });
      });
    }

    test('Dito probes use the health endpoints of its config, never /metrics', () => {
      const dito = named(objects, 'Deployment', 'dito')!;
      const container = podSpec(dito).containers.find((c) => c.name === 'dito')!;
      const config =
        platform === 'kubernetes'
          ? loadConfig(
              (named(objects, 'ConfigMap', 'dito-config')!.data as Record<string, string>)['config.yaml']!,
              'config.yaml',
            )
          : loadConfig(renderedTemplate(), 'config.yaml');
      assert.equal(container.livenessProbe?.httpGet?.path, config.health.livenessPath);
      assert.equal(container.startupProbe?.httpGet?.path, config.health.livenessPath);
      assert.equal(container.readinessProbe?.httpGet?.path, config.health.readinessPath);
      const http = container.ports?.find((p) => p.name === container.readinessProbe?.httpGet?.port);
      assert.equal(http?.containerPort, config.port);
      // SIGTERM: shutdown_delay then the drain must fit in the grace period.
      const graceMs = (podSpec(dito).terminationGracePeriodSeconds ?? 30) * 1000;
      assert.ok(graceMs > config.shutdownDelayMs + config.shutdownTimeoutMs, 'grace period too short');
    });

    test('the only key in the cluster is the public one', () => {
      const dito = named(objects, 'Deployment', 'dito')!;
      const secrets = (podSpec(dito).volumes ?? []).filter((v) => v.secret !== undefined);
      assert.deepEqual(
        secrets.map((v) => v.secret!.secretName),
        ['dito-plugin-public-key'],
      );
      for (const file of manifestFiles(dir)) {
        assert.doesNotMatch(readFileSync(file, 'utf8'), /ed25519_private|initContainers/, rel(file));
      }
      const secret = named(objectsIn(KUBERNETES), 'Secret', 'dito-plugin-public-key')!;
      assert.deepEqual(Object.keys(secret.stringData as object), ['ed25519_public.key']);
    });

    test('Service, PodDisruptionBudget and HorizontalPodAutoscaler point at the Dito pods', () => {
      const dito = named(objects, 'Deployment', 'dito')!;
      const labels = podLabels(dito);
      const service = named(objects, 'Service', 'dito')!;
      assert.ok(selects((service.spec as { selector: Record<string, string> }).selector, labels));
      const pdb = named(objects, 'PodDisruptionBudget', 'dito')!;
      assert.ok(
        selects(
          (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
          labels,
        ),
      );
      const hpa = named(objects, 'HorizontalPodAutoscaler', 'dito')!;
      const target = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
      assert.deepEqual([target.kind, target.name], ['Deployment', 'dito']);
      // Redis: the name the configs use, and only Dito pods may reach it.
      const redis = named(objects, 'Service', 'dito-redis');
      assert.ok(redis, 'a dito-redis Service');
      const policy = named(objects, 'NetworkPolicy', 'dito-redis')!;
      const from = (
        policy.spec as { ingress: Array<{ from: Array<{ podSelector: { matchLabels: object } }> }> }
      ).ingress[0]!.from[0]!.podSelector.matchLabels;
      assert.ok(selects(from as Record<string, string>, labels));
    });
  });
}

describe('docker-compose.yml', () => {
  const composeDir = join(REPO_ROOT, 'deployments/docker');
  const compose = parseYaml(readFileSync(join(composeDir, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as {
    services: Record<string, Record<string, unknown>>;
  };
  const services = compose.services;
  const stages = [
    ...readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM \S+ AS (\S+)$/gm),
  ].map((m) => m[1]);

  test('two Dito replicas, Redis and the demo backend', () => {
    assert.deepEqual(Object.keys(services).sort(), ['demo', 'dito-1', 'dito-2', 'redis']);
  });

  test('depends_on, build contexts, targets and mounted files exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys((service.depends_on as object | undefined) ?? {})) {
        assert.ok(dependency in services, `${name} depends on unknown service ${dependency}`);
      }
      const build = service.build as { context: string; dockerfile: string; target: string } | undefined;
      if (build !== undefined) {
        assert.ok(
          existsSync(join(resolve(composeDir, build.context), build.dockerfile)),
          `${name}: Dockerfile`,
        );
        assert.ok(stages.includes(build.target), `${name}: Dockerfile stage ${build.target}`);
      }
      for (const volume of (service.volumes as string[] | undefined) ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.')) assert.ok(existsSync(resolve(composeDir, source)), `${name}: ${source}`);
      }
    }
  });

  test('the replicas share Redis and reach only hosts that are Compose services', () => {
    const mounted = (services['dito-1']!.volumes as string[])[0]!.split(':')[0]!;
    assert.deepEqual(services['dito-1']!.volumes, services['dito-2']!.volumes);
    const config = loadConfig(readFileSync(resolve(composeDir, mounted), 'utf8'), 'config.yaml');
    assert.ok(config.redis.enabled && config.redis.host in services);
    const limited = config.locations.filter((l) => l.middlewares.includes('rate-limiter-redis'));
    assert.ok(limited.length > 0, 'a limiter shared through Redis');
    for (const location of config.locations) {
      assert.ok(location.targetUrl!.hostname in services, `${location.path}: ${location.targetUrl!.host}`);
    }
    assert.equal(services['dito-1']!.read_only, true);
    assert.deepEqual(services['dito-1']!.cap_drop, ['ALL']);
  });
});
