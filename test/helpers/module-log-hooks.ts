// Module hooks for tests that check what a Dito process loads: every package module it resolves is
// appended to the file named by DITO_TEST_MODULE_LOG. Registered by module-log-register.ts
// (`--import`); Node runs these hooks on a thread of their own, hence a file, not a message.
import { appendFileSync } from 'node:fs';
import type { ResolveHook } from 'node:module';

const logFile = process.env.DITO_TEST_MODULE_LOG;

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const result = await nextResolve(specifier, context);
  if (logFile !== undefined && result.url.includes('/node_modules/'))
    appendFileSync(logFile, `${result.url}\n`);
  return result;
};
