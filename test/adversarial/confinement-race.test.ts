/**
 * A race against the real server: a helper process watches the control folder and, the moment the
 * journal of a `relocate` appears (its temporary file or the journal itself), creates the destination's
 * new parent folder as a link to a folder outside the project. Whatever the timing, the asset folder
 * never ends up outside: the apply is refused (WriteFailed, rolled back) or the folder is inside, in a
 * real folder. Every wait is bounded; a sentinel folder outside is unchanged.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerOf, initialize, Notifier, responseErrorOf, spawnServer, withDeadline } from '../lane/support.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { useAdversarialSuite } from './support.js';

/** The helper: waits for the journal in `control`, then links `linkPath` to `target`; says what it did. */
const HELPER = `
const { watch, symlinkSync } = require('node:fs');
const [control, linkPath, target] = process.argv.slice(1);
const done = (what) => { process.stdout.write(what + '\\n'); process.exit(0); };
watch(control, (_event, name) => {
  if (name === null || !(name === 'journal.json' || /^\\.journal\\.json\\..*\\.tmp$/.test(name))) return;
  try { symlinkSync(target, linkPath); done('linked'); } catch (error) { done('late ' + error.code); }
});
process.stdout.write('ready\\n');
setTimeout(() => done('timeout'), 20000);
`;

/** A running helper: resolves `ready` once it watches, `finished` with what it did. */
function startHelper(
  control: string,
  linkPath: string,
  target: string,
): { ready: Promise<void>; finished: Promise<string> } {
  const child = spawn(process.execPath, ['-e', HELPER, control, linkPath, target], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
    if (output.includes('ready\n')) markReady();
  });
  const finished = new Promise<string>((resolve) =>
    child.on('exit', () => {
      markReady();
      resolve(output.replace('ready\n', '').trim());
    }),
  );
  return { ready, finished };
}

describe('a link swapped in while a relocate runs', () => {
  const tempDir = useTempDirs('packer-adv-race-');
  const { servers } = useAdversarialSuite({ checkEachTest: true });

  it('never carries the asset folder outside: six tries, each refused and rolled back or applied inside (issue 9, found-item 3)', async () => {
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const dir = tempDir();
      const outside = tempDir();
      writeProject(dir, { assets: [{ root: 'chars/hero', files: { 'data.bin': 'hero bytes' } }] });
      const server = spawnServer(new Notifier());
      servers.push(server);
      const projectId = await answerOf(server, initialize(server, dir), 'initialize');
      const helper = startHelper(join(dir, 'assets', '.prometeu'), join(dir, 'assets', 'moved'), outside);
      await withDeadline(helper.ready, 'the helper to watch');
      const outcome = await answerOf(
        server,
        server.connection
          .sendRequest('packer/applyMutation', {
            projectId,
            mutation: { kind: 'relocate', asset: { assetId: 1 }, to: 'moved/hero' },
            consent: true,
          })
          .then(
            (answer) => (answer as { outcome: string }).outcome,
            (error: unknown) => {
              const failure = responseErrorOf(error);
              return failure === null
                ? String(error)
                : `${failure.code} ${(failure.data as { errno?: string })?.errno}`;
            },
          ),
        'applyMutation',
      );
      const helped = await withDeadline(helper.finished, 'the helper to finish');
      outcomes.push(`${outcome} (helper: ${helped})`);
      // Nothing of the asset is outside, whatever happened.
      expect(readdirSync(outside), outcomes.join('; ')).toEqual([]);
      const at = ['chars/hero', 'moved/hero'].filter((root) => existsSync(join(dir, 'assets', root, 'data.bin')));
      expect(at, outcomes.join('; ')).toHaveLength(1);
      for (let folder = join(dir, 'assets', at[0]!); folder !== join(dir, 'assets'); folder = join(folder, '..'))
        expect(lstatSync(folder).isDirectory(), `${folder} is a real folder`).toBe(true);
      if (outcome === 'applied') expect(at[0]).toBe('moved/hero');
      else expect(outcome, outcomes.join('; ')).toMatch(/^(1010 E[A-Z]+|rejected)$/);
      expect(existsSync(join(dir, 'assets', '.prometeu', 'journal.json'))).toBe(false);
      server.dispose();
      await server.kill();
    }
  });
});
