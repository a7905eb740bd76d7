#!/usr/bin/env -S node --max-semi-space-size=64 --initial-old-space-size=256
// The flags: see src/cli/node-flags.ts (every way of starting a broker names them).
// Runs the compiled CLI. In a clone, the broker's sources are compiled first when dist/ is missing
// or older than them (tsc -p tsconfig.broker.json, incremental: seconds the first time, then only
// what changed), so `npx ledgerstream …` works right after `npm install`, without a build step.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const entry = path.join(root, 'dist/src/cli.js');
const project = path.join(root, 'tsconfig.broker.json');
// When the last compile started. tsc's own outputs cannot say it: an incremental compile that finds
// nothing changed (a file touched, a branch switched back) rewrites nothing, and every later run
// would compile again.
const compiledMark = path.join(root, 'dist/.cli-compiled');
const SOURCE_FOLDERS = ['src', 'storage', 'protocol'];

function newestSourceMs(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSourceMs(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function builtMs() {
  const marks = [entry, path.join(root, 'dist/.broker.tsbuildinfo'), compiledMark].filter((f) => existsSync(f));
  return Math.max(0, ...marks.map((f) => statSync(f).mtimeMs));
}

if (existsSync(project)) {
  const sourcesMs = Math.max(...SOURCE_FOLDERS.map((d) => path.join(root, d)).filter((d) => existsSync(d))
    .map(newestSourceMs));
  if (!existsSync(entry) || builtMs() < sourcesMs) {
    process.stderr.write('ledgerstream: compiling the sources (first run or changed sources)...\n');
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    // Taken before compiling, so a source saved while tsc runs is still newer than the mark.
    const startedAt = new Date();
    const r = spawnSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write('ledgerstream: compiling failed; run `npm install` first, then try again\n');
      process.exit(1);
    }
    closeSync(openSync(compiledMark, 'a'));
    utimesSync(compiledMark, startedAt, startedAt);
  }
}
await import(entry);
