// `node --import` this file to log the package modules a process resolves (module-log-hooks.ts).
import { register } from 'node:module';

register(new URL('./module-log-hooks.js', import.meta.url));
