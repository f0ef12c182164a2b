// Vitest configuration: the tests in three projects (unit, transcripts, heavy) that can run alone or together.
import { globSync } from 'tinyglobby';
import { defineConfig } from 'vitest/config';

/**
 * The test groups. `unit` is the default: a test file no other group claims lands there, so none is ever
 * left out. `heavy` holds everything that spawns the real server or a CLI, kills processes, drives real file
 * watchers, or is big on purpose; it is matched by folder where a folder is heavy as a whole.
 */
export const testGroups = {
  transcripts: { include: ['test/transcripts/**/*.test.ts'], exclude: [] },
  heavy: {
    include: [
      // Real watchers (native and polling backends), and a server killed after a commit.
      'test/watch/**/*.test.ts',
      // Packed tarballs installed into scratch projects; hostile inputs at scale.
      'test/packaging/**/*.test.ts',
      'test/adversarial/**/*.test.ts',
      // Crash safety (SIGKILL of the real server, crash points), two servers on one project, the property test.
      'test/lane/crash*.test.ts',
      'test/lane/two-processes.test.ts',
      'test/lane/*.property.test.ts',
      'test/server/big-and-concurrent.test.ts',
      // The CLI and the client against spawned servers (the real one or misbehaving fixtures).
      'test/client/cli.test.ts',
      'test/client/cli-{divergence,pack,writes}.test.ts',
      'test/client/{misbehaving-servers,operations,packer-client,resume}.test.ts',
      // The CLI on format blockers: shown before any pack, through the real server and its validation worker.
      'test/pack/cli-format-blockers.test.ts',
      // The packer ui relay and the panel in a real browser (Chromium) against the real server.
      'test/browser/**/*.test.ts',
      // Real editors (Neovim, Emacs eglot) driving the real server headless.
      'test/editors/**/*.test.ts',
      // The client over a LanguageClient-shaped endpoint, and the VS Code extension's bundle, against the real server.
      'test/vscode/**/*.test.ts',
    ],
    exclude: [],
  },
  unit: {
    include: ['test/**/*.test.ts'],
    exclude: [] as string[],
  },
};
testGroups.unit.exclude = [...testGroups.transcripts.include, ...testGroups.heavy.include];

/** Fails loudly when a test file is in no group or in more than one (the same globbing as Vitest's). */
function checkGroups(): void {
  const all = globSync('test/**/*.test.ts', { ignore: ['**/node_modules/**'] });
  const counts = new Map<string, string[]>(all.map((file): [string, string[]] => [file, []]));
  for (const [name, group] of Object.entries(testGroups))
    for (const file of globSync(group.include, { ignore: group.exclude })) counts.get(file)?.push(name);
  const wrong = [...counts].filter(([, groups]) => groups.length !== 1);
  if (wrong.length > 0)
    throw new Error(
      `Every test file must be in exactly one group of vitest.config.ts: ${wrong
        .map(([file, groups]) => `${file} (${groups.join(', ') || 'none'})`)
        .join('; ')}`,
    );
}
checkGroups();

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: Object.entries(testGroups).map(([name, group]) => ({
      extends: true,
      test: { name, include: group.include, exclude: group.exclude, setupFiles: ['test/support/no-console.ts'] },
    })),
  },
});
