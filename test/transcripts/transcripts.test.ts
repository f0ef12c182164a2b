/**
 * Replays every protocol transcript under test/transcripts against an in-process server. Set
 * UPDATE_TRANSCRIPTS=1 (`npm run test:update`) to regenerate the server messages in the files after a
 * deliberate change; the comments, directives and client lines stay as written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findTranscripts, readInitializeReply, runTranscript } from '../support/transcript-harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const update = process.env['UPDATE_TRANSCRIPTS'] === '1';

describe('protocol transcripts', () => {
  for (const file of findTranscripts(here)) {
    const title = readFileSync(file, 'utf8').split('\n')[0]!.replace(/^#\s*/, '');
    it(`${relative(here, file)}: ${title}`, async () => {
      const text = readFileSync(file, 'utf8');
      const run = await runTranscript(text, {
        fixturesDir: join(here, 'fixtures'),
        initializeReply: readInitializeReply(here),
      });
      expect(run.problems).toEqual([]);
      if (update) writeFileSync(file, run.rendered);
      else expect(run.rendered).toBe(text);
    });
  }
});
