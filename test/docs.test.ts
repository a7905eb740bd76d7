/** docs/skipped-features.md is generated from the handlers' header comments; it must be current. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { DOC_PATH, renderApiDocs } from '../scripts/gen-api-docs.js';

it('docs/skipped-features.md matches the handler headers (npm run docs:apis)', () => {
  expect(readFileSync(DOC_PATH, 'utf8')).toBe(renderApiDocs());
});
