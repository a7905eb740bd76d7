/**
 * Entry point of the `ledgerstream` command (bin/ledgerstream.js, `npm start`): see cli/program.ts
 * for the commands and cli/start.ts for the broker's start and exit codes.
 */

// The AWS SDK warns on every start under Node.js 20 that its releases from 2027 need Node.js 22:
// news for whoever upgrades our dependencies, not for an operator starting a broker.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** `start` loads only the broker; the client commands load commander and kafkajs. */
async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'start') return (await import('./cli/start.js')).runStart(argv.slice(1));
  return (await import('./cli/program.js')).main(argv);
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: unknown) => {
  console.error('ledgerstream: failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
