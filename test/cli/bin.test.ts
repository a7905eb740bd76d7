/**
 * bin/ledgerstream.js compiles the sources when dist/ is missing or older than them, and only
 * then: run on a small project of its own shape (tsconfig.broker.json, src/cli.ts), so the test
 * needs no build of the real one and can set the files' times as it likes.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync,
  writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
let project: string;

interface Run { code: number; stdout: string; stderr: string }

function runBin(): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(project, 'bin/ledgerstream.js'), 'hello'], { timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, stdout, stderr }));
  });
}

function writeCli(greeting: string): void {
  writeFileSync(path.join(project, 'src/cli.ts'),
    `const words: string[] = process.argv.slice(2);\nconsole.log('${greeting} ' + words.join(' '));\n`);
}

/** Dates every file under dist/ `secondsAgo` back, as if the last compile was that long ago. */
function ageBuild(secondsAgo: number): void {
  const then = new Date(Date.now() - secondsAgo * 1000);
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else utimesSync(p, then, then);
    }
  };
  walk(path.join(project, 'dist'));
}

beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), 'ledgerstream-bin-'));
  mkdirSync(path.join(project, 'bin'));
  mkdirSync(path.join(project, 'src'));
  copyFileSync(path.join(REPO, 'bin/ledgerstream.js'), path.join(project, 'bin/ledgerstream.js'));
  symlinkSync(path.join(REPO, 'node_modules'), path.join(project, 'node_modules'));
  writeFileSync(path.join(project, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(path.join(project, 'tsconfig.broker.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', target: 'es2022', outDir: 'dist', rootDir: '.', skipLibCheck: true,
      types: ['node'], incremental: true, tsBuildInfoFile: 'dist/.broker.tsbuildinfo' },
    include: ['src/**/*.ts'],
  }));
  writeCli('hi');
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

it('compiles on the first run, not again until a source is newer, and then once', async () => {
  const first = await runBin();
  expect(first).toMatchObject({ code: 0, stdout: 'hi hello\n' });
  expect(first.stderr).toContain('compiling the sources');
  expect(statSync(path.join(project, 'dist/src/cli.js')).isFile()).toBe(true);
  expect(await runBin()).toEqual({ code: 0, stdout: 'hi hello\n', stderr: '' });

  // A source touched without a change (an editor's save, a branch switched and back): tsc rewrites
  // nothing, yet the next run must not compile again.
  ageBuild(60);
  const touched = new Date(Date.now() - 30_000);
  utimesSync(path.join(project, 'src/cli.ts'), touched, touched);
  expect((await runBin()).stderr).toContain('compiling the sources');
  expect(await runBin()).toEqual({ code: 0, stdout: 'hi hello\n', stderr: '' });

  ageBuild(60);
  writeCli('hello again,');
  const changed = await runBin();
  expect(changed.stdout).toBe('hello again, hello\n');
  expect(changed.stderr).toContain('compiling the sources');
}, 120_000);
