// When the workers of a cluster bind the port themselves with SO_REUSEPORT (src/cluster/reuse-port.ts):
// the Node versions whose listen() takes `reusePort`, Linux only, and the operator's switch to keep
// node:cluster's round robin. The wire side (one listening socket per worker) is in e2e/workers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeHasReusePort, workersBindWithReusePort } from '../../src/cluster/reuse-port.js';

test('reusePort arrived in Node 22.12 and 23.1', () => {
  for (const version of ['20.20.2', '21.7.3', '22.11.0', '23.0.0', '18.20.0']) {
    assert.equal(nodeHasReusePort(version), false, version);
  }
  for (const version of ['22.12.0', '22.20.1', '23.1.0', '24.0.0', '24.21.0', '26.1.0']) {
    assert.equal(nodeHasReusePort(version), true, version);
  }
});

test('the kernel balances on Linux only, unless DITO_REUSE_PORT=0', () => {
  assert.equal(workersBindWithReusePort('24.21.0', 'linux', {}), true);
  assert.equal(workersBindWithReusePort('24.21.0', 'linux', { DITO_REUSE_PORT: '1' }), true);
  assert.equal(workersBindWithReusePort('24.21.0', 'linux', { DITO_REUSE_PORT: '0' }), false);
  assert.equal(workersBindWithReusePort('24.21.0', 'darwin', {}), false);
  assert.equal(workersBindWithReusePort('24.21.0', 'win32', {}), false);
  assert.equal(workersBindWithReusePort('20.20.2', 'linux', {}), false);
});
