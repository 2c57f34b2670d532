// The `server:` block (extension): limits on what clients may send and how long they may take,
// named after Go's http.Server fields. Defaults protect against slow and oversized clients.
import * as z from 'zod';
import { DURATION_HINT, SIZE_HINT, boolField, durationField, sizeField } from './schema-fields.js';

export const serverSchema = z.strictObject({
  read_header_timeout: durationField()
    .prefault('10s')
    .describe(
      'Extension. Time a client has to send the request line and headers (slowloris guard).' + DURATION_HINT,
    ),
  read_timeout: durationField()
    .prefault('300s')
    .describe(
      'Extension. Time a client has to send the whole request, body included; 0 = none.' + DURATION_HINT,
    ),
  idle_timeout: durationField()
    .prefault('65s')
    .describe('Extension. How long an idle client keep-alive connection stays open.' + DURATION_HINT),
  max_connections: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Extension. Client connections held at once; more are refused at accept. 0 = unlimited.'),
  max_header_bytes: sizeField()
    .prefault(16 * 1024)
    .refine((size) => size >= 1024, { error: 'must be at least 1024 bytes' })
    .describe('Extension. Request line plus headers, in bytes; over it: 431.' + SIZE_HINT),
  max_headers: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .describe('Extension. Request header fields; more: 431 (never forwarded with some dropped).'),
  max_url_length: sizeField()
    .prefault(8192)
    .describe('Extension. Request target length in bytes; longer: 414.' + SIZE_HINT),
  max_request_body_size: sizeField()
    .prefault(0)
    .describe(
      'Extension. Request body limit in bytes for every location; 0 = unlimited. Over it: 413.' + SIZE_HINT,
    ),
  allow_underscores_in_headers: boolField()
    .default(false)
    .describe(
      'Extension. Forward request headers whose names contain "_" or "."; by default they are dropped ' +
        '(backends may fold X_Forwarded_For onto X-Forwarded-For).',
    ),
  allow_trace: boolField().default(false).describe('Extension. Proxy TRACE requests; by default: 405.'),
});

export type ParsedServer = z.output<typeof serverSchema>;
