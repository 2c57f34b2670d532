// Example plugin: marks the upstream request (X-Hello-Plugin: 1) and the response (X-Hello: <greeting>).
// The type import is erased by the bundler; plugins outside this repository import from 'dito/plugin'.
import type { DitoPlugin, PluginFactory } from '../../src/plugins/types.js';

interface HelloConfig {
  greeting?: unknown;
}

const createPlugin: PluginFactory<HelloConfig> = () => {
  let greeting = 'world';
  const plugin: DitoPlugin<HelloConfig> = {
    name: 'hello-plugin',
    init(config, app) {
      if (config.greeting !== undefined) {
        if (typeof config.greeting !== 'string') throw new Error('greeting must be a string');
        greeting = config.greeting;
      }
      app.logger.info({ greeting }, 'hello-plugin ready');
    },
    middleware() {
      return (req, res, next) => {
        // Lower-case: Node's req.headers keys are lower-case, and the proxy forwards them as they are.
        req.headers['x-hello-plugin'] = '1';
        res.setHeader('X-Hello', greeting);
        next();
      };
    },
  };
  return plugin;
};

export default createPlugin;
