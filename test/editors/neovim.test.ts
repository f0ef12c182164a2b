// Neovim's built-in LSP client against the real server: diagnostics as the user types, a clean shutdown.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { onPath, runEditor } from './support.js';

const SCRIPT = fileURLToPath(new URL('neovim.lua', import.meta.url));

describe('Neovim (Debian neovim, vim.lsp)', () => {
  it(
    'shows the packer diagnostic of the broken declaration, clears it when the buffer is fixed, shows it again when broken, hovers, completes, applies a safe fix, and shuts the server down cleanly',
    { timeout: 120_000 },
    async () => {
      expect(onPath('nvim'), 'nvim is not installed (apt-get install neovim)').toBe(true);
      // Debian's Neovim is 0.7, which has no `-l`: the script runs through luafile.
      const run = await runEditor('nvim', () => ['--headless', '-u', 'NONE', '-c', `luafile ${SCRIPT}`]);
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
        expect(step.diagnostics).toEqual([
          expect.objectContaining({ code: 'declaration-invalid', source: 'packer', line: 15 }),
        ]);
      // The fixes were never saved: the buffer was validated from its unsaved text.
      expect(observed.modified).toBe(true);
      // A hover shows the asset id; completion in the value of type offers the asset types.
      expect(observed['hover']).toContain('asset #12');
      expect(observed['completion']).toEqual(expect.arrayContaining(['blob', 'glyph_bank', 'sound_bank']));
      // The code action of the unregistered coin applies the packer's safe fix through the lane.
      expect(observed['coinDiagnostics']).toEqual(['unregistered-root']);
      expect(observed['codeActions']).toEqual(['Register sfx/coin']);
      expect(observed['registeredOnDisk']).toBe(true);
      expect(observed.steps[4]!.diagnostics).toEqual([]);
      expect(observed.exit).toEqual({ code: 0, signal: 0 });
      expect(observed.logMessages).toEqual([]);
      expect(run.exitCode).toBe(0);
    },
  );
});
