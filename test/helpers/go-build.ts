/**
 * Builds a small Go program of this repository (a compat client, a benchmark load generator)
 * once per content of its sources and `go version`, into ~/.cache/ledgerstream/<name>-<hash>/,
 * and returns the binary's path. Concurrent builders are safe: each builds into its own temp
 * folder and renames it into place. The module's go.mod/go.sum are the pins (-mod=readonly).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { COMPAT_CACHE_DIR, runCommand } from './run-command.js';

export const GO = process.env.LEDGERSTREAM_GO ?? 'go';
/** A cold build downloads the modules (first time) and compiles franz-go: ~25 s on 2 cores. */
export const goBuildMsMax = 300_000;

export function goAvailable(): boolean {
  return spawnSync(GO, ['version'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

/** go.mod, go.sum and every .go file of the folder, in name order: what the build depends on. */
async function sourcesOf(sourceDir: string): Promise<string[]> {
  const names = await readdir(sourceDir);
  return names.filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go')).sort();
}

/**
 * `sourceDir` is a main package; `moduleDir` the folder of its go.mod when that is a parent (a
 * second program in the same module shares its pins).
 */
export async function buildGoProgram(sourceDir: string, name: string,
  moduleDir = sourceDir): Promise<string> {
  const version = await runCommand(GO, ['version'], { timeoutMs: 20_000 });
  const hash = createHash('sha256').update(version.stdout);
  const dirs = moduleDir === sourceDir ? [sourceDir] : [moduleDir, sourceDir];
  for (const dir of dirs) {
    for (const f of await sourcesOf(dir)) {
      hash.update(f).update(await readFile(path.join(dir, f)));
    }
  }
  const dir = path.join(COMPAT_CACHE_DIR, `${name}-${hash.digest('hex').slice(0, 16)}`);
  const bin = path.join(dir, name);
  if (existsSync(bin)) return bin;
  await mkdir(COMPAT_CACHE_DIR, { recursive: true });
  const work = await mkdtemp(path.join(COMPAT_CACHE_DIR, `build-${name}-`));
  // -buildvcs=false: the checkout's VCS state is not the program's.
  const r = await runCommand(GO, ['build', '-mod=readonly', '-buildvcs=false', '-trimpath', '-o',
    path.join(work, name), '.'], { cwd: sourceDir, timeoutMs: goBuildMsMax });
  if (r.code !== 0) {
    await rm(work, { recursive: true, force: true });
    const why = r.error ?? r.code;
    throw new Error(`go build in ${sourceDir} failed (${why}):\n${r.stdout}\n${r.stderr}`);
  }
  try {
    await rename(work, dir);
  } catch {
    // Another process put the same build in place first.
    await rm(work, { recursive: true, force: true });
  }
  return bin;
}
