// Runs bcrypt comparisons off the main thread. bcryptjs's "async" API still computes in slices of
// up to 100 ms on the event loop, so a cost-10 check (~50–100 ms) would stall every other request
// the proxy is serving; in a worker thread it only costs CPU.
import { parentPort } from 'node:worker_threads';
import { compareSync } from 'bcryptjs';

export interface CompareRequest {
  id: number;
  password: string;
  hash: string;
}

export interface CompareResponse {
  id: number;
  match: boolean;
}

parentPort?.on('message', (request: CompareRequest) => {
  let match = false;
  try {
    match = compareSync(request.password, request.hash);
  } catch {
    // A hash bcryptjs cannot read never matches; the schema and htpasswd parser make this rare.
  }
  parentPort!.postMessage({ id: request.id, match } satisfies CompareResponse);
});
