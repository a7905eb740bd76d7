/**
 * The franz-go compatibility program (test/compat/franz/main.go), built once per content of its
 * sources and `go version`, for the franz-go compatibility and security tests.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { COMPAT_CACHE_DIR, runCommand as run } from './compat-steps.js';

export const GO = process.env.LEDGERSTREAM_GO ?? 'go';
export const HAVE_GO = spawnSync(GO, ['version'], { stdio: 'ignore',
  timeout: 20_000 }).status === 0;
if (!HAVE_GO) {
  console.warn('test/compat/franz-client.test.ts: SKIPPED: no `go` on PATH (install Go 1.26+, then '
    + '`bash .ci/install-compat-clients.sh`)');
}

const SOURCE_DIR = path.resolve(import.meta.dirname, '../compat/franz');
const SOURCES = ['go.mod', 'go.sum', 'main.go'];
/** A cold build downloads the modules (first time) and compiles franz-go: ~25 s on 2 cores. */
export const BUILD_MS_MAX = 300_000;

/**
 * Builds main.go (once per content of the sources and `go version`) into
 * ~/.cache/ledgerstream/compat-franz-<hash>/compat-franz and returns the binary's path.
 * Concurrent builders are safe: each builds into its own temp folder and renames it into place.
 */
export async function buildFranz(): Promise<string> {
  const version = await run(GO, ['version'], { timeoutMs: 20_000 });
  const hash = createHash('sha256').update(version.stdout);
  for (const f of SOURCES) hash.update(f).update(await readFile(path.join(SOURCE_DIR, f)));
  const dir = path.join(COMPAT_CACHE_DIR, `compat-franz-${hash.digest('hex').slice(0, 16)}`);
  const bin = path.join(dir, 'compat-franz');
  if (existsSync(bin)) return bin;
  await mkdir(COMPAT_CACHE_DIR, { recursive: true });
  const work = await mkdtemp(path.join(COMPAT_CACHE_DIR, 'build-franz-'));
  // -mod=readonly: go.mod/go.sum are the pins; a build never rewrites them. -buildvcs=false: the
  // checkout's VCS state is not the program's.
  const r = await run(GO, ['build', '-mod=readonly', '-buildvcs=false', '-trimpath', '-o',
    path.join(work, 'compat-franz'), '.'],
    { cwd: SOURCE_DIR, timeoutMs: BUILD_MS_MAX });
  if (r.code !== 0) {
    await rm(work, { recursive: true, force: true });
    throw new Error(`go build in ${SOURCE_DIR} failed ` +
      `(${r.error ?? r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  try {
    await rename(work, dir);
  } catch {
    await rm(work, { recursive: true,
      force: true }); // another process put the same build in place first
  }
  return bin;
}
