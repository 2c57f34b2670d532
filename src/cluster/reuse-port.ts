// Whether the workers of a cluster bind the port themselves, each its own listening socket with
// SO_REUSEPORT, so that the kernel spreads new connections over them (`balancing: kernel`), or
// node:cluster's primary accepts every connection and passes it to a worker over IPC in turn
// (`balancing: round_robin`). The kernel's way keeps the primary out of the accept path; Node offers
// it from 22.12 (and 23.1) as `listen({ reusePort: true })`, which a cluster worker then binds itself.
// Linux alone: it spreads connections over a port's SO_REUSEPORT sockets (elsewhere the option may
// fail the listen, or bind without balancing). DITO_REUSE_PORT=0 keeps node:cluster's way.

/** Environment variable that turns the kernel's balancing off (`0`). */
export const REUSE_PORT_SWITCH_ENV = 'DITO_REUSE_PORT';

/** Node versions whose `listen()` takes `reusePort`: 22.12+, 23.1+, and every later major. */
export function nodeHasReusePort(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major === 22) return minor >= 12;
  if (major === 23) return minor >= 1;
  return major > 23;
}

/** Whether this process's workers bind the port themselves (see above). */
export function workersBindWithReusePort(
  version: string = process.versions.node,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return env[REUSE_PORT_SWITCH_ENV] !== '0' && platform === 'linux' && nodeHasReusePort(version);
}
