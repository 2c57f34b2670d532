// Registers the built-in middlewares under their config names (contract section 5).
import { builtinMiddlewares } from '../runtime/middleware-registry.js';
import { createAuthMiddleware } from './auth/index.js';

builtinMiddlewares.set('auth', createAuthMiddleware);
