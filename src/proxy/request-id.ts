// X-Request-ID: the client's when it is safe to echo (1–128 of A-Z a-z 0-9 - _ . :), else a new UUID.
import { randomUUID } from 'node:crypto';

const SAFE_REQUEST_ID = /^[A-Za-z0-9\-_.:]{1,128}$/;

export function requestIdFrom(clientValue: string | undefined): string {
  if (clientValue !== undefined && SAFE_REQUEST_ID.test(clientValue)) return clientValue;
  // randomUUID draws from a cached entropy pool: no syscall per request.
  return randomUUID();
}
