// Offline schema checks of Kubernetes and OpenShift manifests. Kubernetes kinds are validated with
// the validators `kubernetes-models` compiles from the Kubernetes OpenAPI (types, required fields,
// enums, formats), made strict here: a field the schema never reads is an unknown field (a typo),
// as `kubeconform -strict` reports. OpenShift's Route has no such package: a strict hand-written
// description of route.openshift.io/v1 (its documented fields) with the real ObjectMeta validator.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface CompiledValidator {
  (data: unknown): boolean;
  errors?: Array<{ instancePath: string; message?: string; keyword: string; params: unknown }> | null;
}

const require = createRequire(import.meta.url);
// The package's `exports` hide its schema folder; its compiled validators are plain files in it.
const modelsDir = dirname(require.resolve('kubernetes-models'));
const apimachineryDir = dirname(require.resolve('@kubernetes-models/apimachinery'));

const SCHEMAS: Record<string, string> = {
  'apps/v1/Deployment': 'IoK8sApiAppsV1Deployment',
  'v1/Service': 'IoK8sApiCoreV1Service',
  'v1/ConfigMap': 'IoK8sApiCoreV1ConfigMap',
  'v1/Secret': 'IoK8sApiCoreV1Secret',
  'policy/v1/PodDisruptionBudget': 'IoK8sApiPolicyV1PodDisruptionBudget',
  'autoscaling/v2/HorizontalPodAutoscaler': 'IoK8sApiAutoscalingV2HorizontalPodAutoscaler',
  'networking.k8s.io/v1/NetworkPolicy': 'IoK8sApiNetworkingV1NetworkPolicy',
};

function loadValidator(file: string): CompiledValidator {
  return (require(file) as { validate: CompiledValidator }).validate;
}

/** Wraps `value` so that every property read is recorded; `seen` collects one entry per object. */
function tracked(
  value: unknown,
  path: string,
  seen: Array<{ path: string; object: object; read: Set<string> }>,
): unknown {
  if (value === null || typeof value !== 'object') return value;
  const read = new Set<string>();
  seen.push({ path, object: value, read });
  const children = new Map<string, unknown>();
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return child;
      read.add(key);
      if (child === null || typeof child !== 'object') return child;
      if (!children.has(key)) children.set(key, tracked(child, `${path}/${key}`, seen));
      return children.get(key);
    },
  });
}

/** Problems of one object against `validate`, strict about unknown fields. */
function strictProblems(validate: CompiledValidator, document: object): string[] {
  const seen: Array<{ path: string; object: object; read: Set<string> }> = [];
  const problems: string[] = [];
  if (!validate(tracked(document, '', seen))) {
    for (const error of validate.errors ?? []) {
      problems.push(
        `${error.instancePath || '/'}: ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`,
      );
    }
  }
  for (const { path, object, read } of seen) {
    if (Array.isArray(object)) continue;
    for (const key of Object.keys(object)) {
      if (!read.has(key)) problems.push(`${path}/${key}: unknown field`);
    }
  }
  return problems;
}

/** A strict field description: nested descriptions, `string`, `number`, `boolean`, or allowed values. */
type Shape = { [field: string]: Shape | 'string' | 'number' | 'boolean' | readonly string[] };

const ROUTE_SPEC: Shape = {
  host: 'string',
  subdomain: 'string',
  path: 'string',
  to: { kind: ['Service'], name: 'string', weight: 'number' },
  alternateBackends: { kind: ['Service'], name: 'string', weight: 'number' },
  port: { targetPort: 'string' },
  tls: {
    termination: ['edge', 'passthrough', 'reencrypt'],
    certificate: 'string',
    key: 'string',
    caCertificate: 'string',
    destinationCACertificate: 'string',
    insecureEdgeTerminationPolicy: ['None', 'Allow', 'Redirect'],
    externalCertificate: { name: 'string' },
  },
  wildcardPolicy: ['None', 'Subdomain'],
};

function shapeProblems(value: unknown, shape: Shape, path: string): string[] {
  if (value === null || typeof value !== 'object') return [`${path}: expected an object`];
  const items = Array.isArray(value) ? value : [value];
  const problems: string[] = [];
  items.forEach((item: Record<string, unknown>, index) => {
    const at = Array.isArray(value) ? `${path}/${index}` : path;
    for (const [key, field] of Object.entries(item)) {
      const expected = shape[key];
      const where = `${at}/${key}`;
      if (expected === undefined) problems.push(`${where}: unknown field`);
      else if (Array.isArray(expected)) {
        if (!expected.includes(field as string))
          problems.push(`${where}: must be one of ${expected.join(', ')}`);
      } else if (typeof expected === 'string') {
        // targetPort is an int-or-string.
        const ok = typeof field === expected || (key === 'targetPort' && typeof field === 'number');
        if (!ok) problems.push(`${where}: expected a ${expected}`);
      } else problems.push(...shapeProblems(field, expected as Shape, where));
    }
  });
  return problems;
}

function routeProblems(document: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(document)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(key)) problems.push(`/${key}: unknown field`);
  }
  const metadata = loadValidator(
    join(apimachineryDir, '_schemas/IoK8sApimachineryPkgApisMetaV1ObjectMeta.js'),
  );
  problems.push(...strictProblems(metadata, (document.metadata ?? {}) as object).map((p) => `/metadata${p}`));
  const spec = document.spec as Record<string, unknown> | undefined;
  if (spec === undefined) return [...problems, '/spec: required'];
  if (spec.to === undefined) problems.push('/spec/to: required');
  problems.push(...shapeProblems(spec, ROUTE_SPEC, '/spec'));
  return problems;
}

/** Schema problems of one manifest object; an empty list means valid. */
export function manifestProblems(document: Record<string, unknown>): string[] {
  const key = `${String(document.apiVersion)}/${String(document.kind)}`;
  if (key === 'route.openshift.io/v1/Route') return routeProblems(document);
  const schema = SCHEMAS[key];
  if (schema === undefined) return [`no schema for ${key}: add it to test/helpers/k8s-schema.ts`];
  return strictProblems(loadValidator(join(modelsDir, '_schemas', `${schema}.js`)), document);
}
