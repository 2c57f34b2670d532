// V8 settings that can still be changed once the isolate runs, applied before any other module of
// the CLI is evaluated (the entry imports this first). Settings that must be given at start
// (young generation size, memory reducer) are on the launcher's command line instead (bin/dito).
import { setFlagsFromString } from 'node:v8';

/*
 * Allocation-site pretenuring off. V8 watches the objects made at each allocation site (object and
 * array literals); when most of them outlive a young-generation collection, it allocates that site's
 * objects straight in the old generation from then on. For a proxy that decision is wrong and feeds
 * itself: a request's objects made at such a site sit in the old generation, the young objects of
 * the same request they point at then survive every young collection until the next full one, the
 * site looks long-lived again, and every request is promoted. With a request body streamed to the
 * upstream this set in within seconds (`--trace-pretenuring-statistics`: 11 sites tenured), for
 * Dito and for a bare node:http + undici forwarder alike. Measured on Node 20, POST 64 KiB × 32,
 * proxy on one core: 23 % of the allocated bytes promoted → 3 %, full collections 5 → 1 in 10 s,
 * peak RSS 149 → 123 MiB, 7–17 % less CPU per request (paired runs); GET 1 KiB, 100 KiB and 1 MiB
 * unchanged. Node 24: promoted 24 % → 8 %, peak RSS 181 → 161 MiB. An operator who starts Node
 * with `--allocation-site-pretenuring` keeps it (docs/operations.md#memory).
 */
if (!process.execArgv.includes('--allocation-site-pretenuring')) {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
