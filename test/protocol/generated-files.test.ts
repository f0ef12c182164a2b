/**
 * The protocol reference and the JSON Schemas are generated from the zod declarations; this test fails
 * when a committed copy is stale (run `npm run generate`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderGeneratedFiles, repositoryRoot } from '../../tools/src/generate-docs.js';

describe('generated protocol files', () => {
  for (const [path, content] of renderGeneratedFiles()) {
    it(`${path} matches the protocol declarations (run npm run generate if not)`, () => {
      const committed = readFileSync(join(repositoryRoot(), path), 'utf8');
      expect(committed === content, `${path} is stale: run npm run generate`).toBe(true);
    });
  }
});
