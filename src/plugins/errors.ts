// The one error type of plugin verification and loading; its message is what the contract
// prints (`public key integrity validation failed`, `plugin signature verification failed: <name>`).

export class PluginError extends Error {
  readonly code = 'DITO_ERR_PLUGIN';

  constructor(
    message: string,
    readonly details: {
      /** The plugin concerned, when there is one. */
      plugin?: string;
      /** Why, for logs (e.g. `missing /srv/plugins/x/x.mjs.sig`); the message stays the contract's. */
      reason?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PluginError';
  }

  /** The message plus the reason, for a log line or stderr. */
  describe(): string {
    return this.details.reason ? `${this.message} (${this.details.reason})` : this.message;
  }
}
