/**
 * protocol/ is sans-io: the codec imports nothing from the network, the file system, the broker
 * (src/) or storage/, so it can be fuzzed and reused anywhere. The generator (protocol/codegen)
 * reads spec files and is exempt; it is not part of the runtime codec.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../protocol');
const FORBIDDEN = [/from 'node:(fs|net|http|https|dgram|child_process|worker_threads)/,
  /from '(\.\.\/)+(src|storage)\//, /from '(fs|net|http)'/];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return name === 'codegen' ? [] : files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

it('no runtime protocol module imports I/O, src/ or storage/', () => {
  const offenders = files(ROOT).flatMap((f) => readFileSync(f, 'utf8').split('\n')
    .filter((line) => FORBIDDEN.some((re) => re.test(line)))
    .map((line) => `${path.relative(ROOT, f)}: ${line.trim()}`));
  expect(offenders).toEqual([]);
  expect(files(ROOT).length).toBeGreaterThan(50);
});
