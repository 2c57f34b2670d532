// Example plugin with a bundled npm dependency: CORS via the `cors` package, configured by
// config.yaml. Preflight requests are answered here with 204 and never reach the upstream.
import cors from 'cors';

/** @returns {import('../../src/plugins/types.js').DitoPlugin} */
export default function createPlugin() {
  /** @type {((req: unknown, res: unknown, next: (err?: unknown) => void) => void) | undefined} */
  let handler;
  return {
    name: 'cors-plugin',
    init(config, app) {
      const origins = stringList(config.allowed_origins ?? ['*'], 'allowed_origins');
      const credentials = config.credentials === true;
      if (credentials && origins.includes('*')) {
        // Browsers reject `Access-Control-Allow-Origin: *` together with credentials.
        throw new Error('allowed_origins "*" cannot be combined with credentials: true');
      }
      const options = {
        origin: origins.includes('*') ? '*' : origins,
        credentials,
        preflightContinue: false,
        optionsSuccessStatus: 204,
      };
      if (config.allowed_methods !== undefined)
        options.methods = stringList(config.allowed_methods, 'allowed_methods');
      if (config.allowed_headers !== undefined) {
        options.allowedHeaders = stringList(config.allowed_headers, 'allowed_headers');
      }
      if (config.exposed_headers !== undefined) {
        options.exposedHeaders = stringList(config.exposed_headers, 'exposed_headers');
      }
      if (config.max_age_seconds !== undefined) {
        if (!Number.isInteger(config.max_age_seconds) || config.max_age_seconds < 0) {
          throw new Error('max_age_seconds must be a whole number of seconds');
        }
        options.maxAge = config.max_age_seconds;
      }
      handler = cors(options);
      app.logger.info({ origins }, 'cors-plugin ready');
    },
    middleware() {
      return (req, res, next) => {
        // `cors` treats every OPTIONS as a preflight; a plain OPTIONS (no
        // Access-Control-Request-Method) is not one and belongs to the upstream.
        if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] === undefined) {
          next();
          return;
        }
        if (!handler) throw new Error('cors-plugin used before init');
        handler(req, res, next);
      };
    },
  };
}

/** @param {unknown} value @param {string} key @returns {string[]} */
function stringList(value, key) {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new Error(`${key} must be a list of non-empty strings`);
  }
  return value;
}
