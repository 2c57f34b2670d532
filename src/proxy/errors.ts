// Errors Dito itself answers with: one table from stable code to status and message,
// and one renderer for the contract's JSON body. Nothing else builds error bodies.
import type { ServerResponse } from 'node:http';

export const ErrorCodes = {
  DITO_ERR_NOT_FOUND: { status: 404, message: 'Not Found' },
  DITO_ERR_BAD_REQUEST: { status: 400, message: 'Bad Request' },
  DITO_ERR_PATH_TRAVERSAL: { status: 400, message: 'Bad Request' },
  DITO_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'Method Not Allowed' },
  DITO_ERR_EXPECTATION_FAILED: { status: 417, message: 'Expectation Failed' },
  DITO_ERR_HTTP_VERSION: { status: 505, message: 'HTTP Version Not Supported' },
  DITO_ERR_REQUEST_BODY_TOO_LARGE: { status: 413, message: 'Request body size exceeds limit' },
  DITO_ERR_URI_TOO_LONG: { status: 414, message: 'URI Too Long' },
  DITO_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'Request Header Fields Too Large' },
  DITO_ERR_REQUEST_TIMEOUT: { status: 408, message: 'Request Timeout' },
  DITO_ERR_UNAUTHORIZED: { status: 401, message: 'Unauthorized' },
  DITO_ERR_FORBIDDEN: { status: 403, message: 'Forbidden' },
  DITO_ERR_RATE_LIMITED: { status: 429, message: 'Too Many Requests' },
  DITO_ERR_INTERNAL: { status: 500, message: 'Internal Server Error' },
  DITO_ERR_UPSTREAM_CONNECT: { status: 502, message: 'Bad Gateway' },
  DITO_ERR_UPSTREAM_RESET: { status: 502, message: 'Bad Gateway' },
  DITO_ERR_UPSTREAM_TLS: { status: 502, message: 'Bad Gateway' },
  DITO_ERR_UPSTREAM_PROTOCOL: { status: 502, message: 'Bad Gateway' },
  DITO_ERR_UPSTREAM_TIMEOUT: { status: 504, message: 'Gateway Timeout' },
  DITO_ERR_RESPONSE_TOO_LARGE: { status: 413, message: 'Response body size exceeds limit' },
  DITO_ERR_UNAVAILABLE: { status: 503, message: 'Service Unavailable' },
  DITO_ERR_NO_HEALTHY_UPSTREAM: { status: 503, message: 'Service Unavailable' },
  DITO_ERR_CIRCUIT_OPEN: { status: 503, message: 'Service Unavailable' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ErrorCodes;
export type ErrorDetails = Record<string, string | number | boolean>;

/** An error Dito answers with; `code` picks status and message from the table. */
export class DitoError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly details?: ErrorDetails,
    options?: { cause?: unknown },
  ) {
    super(ErrorCodes[code].message, options);
    this.name = 'DitoError';
    this.status = ErrorCodes[code].status;
  }
}

/** The contract's error body. */
export function renderErrorBody(code: ErrorCode, requestId: string, details?: ErrorDetails): string {
  const { status, message } = ErrorCodes[code];
  return JSON.stringify({
    error: details ? { code: status, message, type: code, details } : { code: status, message, type: code },
    request_id: requestId,
    timestamp: Math.floor(Date.now() / 1000),
  });
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Answers `res` with the contract's JSON error, unless headers are already out — then the only
 * honest signal left is to abort the connection so the client sees a truncated response.
 * Returns the number of body bytes written (for access logs and metrics).
 */
export function sendError(
  res: ServerResponse,
  code: ErrorCode,
  requestId: string,
  details?: ErrorDetails,
  extraHeaders?: Record<string, string>,
): number {
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const body = renderErrorBody(code, requestId, details);
  const length = Buffer.byteLength(body);
  // Headers a middleware or plugin set on the way in (rate-limit counters, CORS) stay on the
  // error; anything describing the body it would have had must go.
  res.removeHeader('content-encoding');
  res.removeHeader('transfer-encoding');
  res.removeHeader('etag');
  res.removeHeader('last-modified');
  res.setHeader('content-type', JSON_CONTENT_TYPE);
  res.setHeader('content-length', length);
  res.setHeader('x-request-id', requestId);
  res.setHeader('cache-control', 'no-store');
  if (extraHeaders) for (const name in extraHeaders) res.setHeader(name, extraHeaders[name]!);
  res.statusCode = ErrorCodes[code].status;
  res.end(res.req?.method === 'HEAD' ? undefined : body);
  return length;
}

/** The raw HTTP/1.1 bytes of an error answer, for sockets the HTTP parser refused. */
export function rawErrorResponse(code: ErrorCode, requestId: string): string {
  const { status, message } = ErrorCodes[code];
  const body = renderErrorBody(code, requestId);
  return (
    `HTTP/1.1 ${status} ${message}\r\n` +
    `Content-Type: ${JSON_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-ID: ${requestId}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}
