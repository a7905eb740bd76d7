/**
 * Writes docs/skipped-features.md from the header comment of each handler file, so the page
 * cannot drift from the code (a test regenerates it and compares). `npm run docs:apis`.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HANDLERS = join(ROOT, 'src/broker/handlers');
export const DOC_PATH = join(ROOT, 'docs/skipped-features.md');

export function renderApiDocs(): string {
  const out = ['# What each API implements and leaves out', '',
    'Collected from the header comment of each handler in `src/broker/handlers/` (the source of truth;',
    'regenerate this page with `npm run docs:apis`). Versions are the ranges ApiVersions advertises.', ''];
  for (const file of readdirSync(HANDLERS).filter((f) => /^\d\d-.*\.ts$/.test(f)).sort()) {
    const header = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(join(HANDLERS, file), 'utf8'));
    if (header === null) throw new Error(`${file}: no header comment`);
    const text = header[1]!.split('\n').map((l) => l.trim().replace(/^\*\s?/, '').trim()).join(' ').trim();
    out.push(`## ${file}`, '', text.replace(/\s+(Behavior:|Version notes:|Not implemented:)/g, '\n\n**$1**'), '');
  }
  return out.join('\n');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(DOC_PATH, renderApiDocs());
  console.log(`wrote ${DOC_PATH}`);
}
