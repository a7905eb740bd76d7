/**
 * The franz-go compatibility program (test/compat/franz/main.go), built once per content of its
 * sources and `go version` (go-build.ts), for the franz-go compatibility and security tests.
 */
import path from 'node:path';
import { buildGoProgram, goAvailable, goBuildMsMax } from './go-build.js';

export const HAVE_GO = goAvailable();
if (!HAVE_GO) {
  console.warn('test/compat/franz-client.test.ts: SKIPPED: no `go` on PATH (install Go 1.26+, then '
    + '`bash .ci/install-compat-clients.sh`)');
}

/** A cold build downloads the modules (first time) and compiles franz-go: ~25 s on 2 cores. */
export const BUILD_MS_MAX = goBuildMsMax;

/** The built program's path (~/.cache/ledgerstream/compat-franz-<hash>/compat-franz). */
export function buildFranz(): Promise<string> {
  return buildGoProgram(path.resolve(import.meta.dirname, '../compat/franz'), 'compat-franz');
}

/** The franz-go transactions program (test/compat/franz/txn/main.go, same module and pins). */
export function buildFranzTxn(): Promise<string> {
  const moduleDir = path.resolve(import.meta.dirname, '../compat/franz');
  return buildGoProgram(path.join(moduleDir, 'txn'), 'compat-franz-txn', moduleDir);
}
