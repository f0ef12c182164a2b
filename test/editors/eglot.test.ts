// Emacs eglot against the real server: diagnostics as the user types, shutdown and exit with null params.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { onPath, runEditor } from './support.js';

const SCRIPT = fileURLToPath(new URL('eglot.el', import.meta.url));

describe('Emacs eglot (Debian emacs-nox, elpa-eglot)', () => {
  it(
    'shows the packer diagnostic of the broken declaration, clears it when the buffer is fixed, shows it again when broken, hovers, completes, applies a safe fix, and the server exits by itself with 0',
    { timeout: 120_000 },
    async () => {
      expect(onPath('emacs'), 'emacs is not installed (apt-get install emacs-nox elpa-eglot)').toBe(true);
      const run = await runEditor('emacs', () => ['--batch', '-l', SCRIPT]);
      const { observed } = run;
      expect(observed.errors, run.output).toEqual([]);
      expect(observed.steps.map((step) => [step.name, step.met])).toEqual([
        ['broken on open', true],
        ['fixed in the buffer', true],
        ['broken again', true],
        ['unregistered coin', true],
        ['coin registered', true],
      ]);
      for (const step of [observed.steps[0]!, observed.steps[2]!])
        expect(step.diagnostics).toEqual([{ code: 'declaration-invalid', source: 'packer', line: 15 }]);
      expect(observed.modified).toBe(true);
      // A hover shows the asset id; completion in the value of type offers the asset types.
      expect(observed['hover']).toContain('asset #12');
      expect(observed['completion']).toEqual(expect.arrayContaining(['blob', 'glyph_bank', 'sound_bank']));
      // The code action of the unregistered coin applies the packer's safe fix through the lane.
      expect(observed['coinDiagnostics']).toEqual(['unregistered-root']);
      expect(observed['codeActions']).toEqual(['Register sfx/coin']);
      expect(observed['registeredOnDisk']).toBe(true);
      expect(observed.steps[4]!.diagnostics).toEqual([]);
      expect(observed.exit).toEqual({ live: false, status: 'exit', code: 0 });
      expect(observed.logMessages).toEqual([]);
      expect(run.exitCode).toBe(0);
    },
  );
});
