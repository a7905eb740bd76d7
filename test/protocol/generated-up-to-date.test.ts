/**
 * The committed protocol/generated tree must be exactly what the generator writes from the specs:
 * regenerate into a temp folder and compare file by file.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { generate } from '../../protocol/codegen/main.js';
import { SPEC_DIR } from './spec-arbitrary.js';

const COMMITTED = resolve(import.meta.dirname, '../../protocol/generated');
const tmp = mkdtempSync(join(tmpdir(), 'ledgerstream-gen-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

it('committed generated code matches a fresh generation', () => {
  generate(tmp, SPEC_DIR);
  const fresh = listFiles(tmp).map((p) => relative(tmp, p)).sort();
  const committed = listFiles(COMMITTED).map((p) => relative(COMMITTED, p)).sort();
  expect(committed).toEqual(fresh);
  const stale = fresh.filter((f) =>
    !readFileSync(join(tmp, f)).equals(readFileSync(join(COMMITTED, f))));
  expect(stale, 'run `npm run gen:protocol` and commit the result').toEqual([]);
});
