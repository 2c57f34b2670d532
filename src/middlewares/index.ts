// Registers the built-in middlewares under their contract names (section 5). One line per
// middleware; each lives in its own folder under src/middlewares/.
import { builtinMiddlewares } from '../runtime/middleware-registry.js';
import { createAuthMiddleware } from './auth/index.js';
import { CACHE, createCache } from './cache/index.js';
import { createRateLimiter, RATE_LIMITER } from './rate-limiter/index.js';
import { createRedisRateLimiter, RATE_LIMITER_REDIS } from './rate-limiter-redis/index.js';

builtinMiddlewares.set(RATE_LIMITER, createRateLimiter);
builtinMiddlewares.set(RATE_LIMITER_REDIS, createRedisRateLimiter);
builtinMiddlewares.set('auth', createAuthMiddleware);
builtinMiddlewares.set(CACHE, createCache);
