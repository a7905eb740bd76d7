/** A setting that stops start-up: its message is the one line the operator sees. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly setting: string, reason: string) {
    super(`invalid setting ${setting}: ${reason}`);
  }
}
