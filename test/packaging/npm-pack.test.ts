/**
 * The packages as npm publishes them: `npm pack` of each workspace package gives a tarball with its build,
 * README and LICENSE; the client installs and works without the server package (spawning the repository's
 * server as `serverCommand`), and the README's "Using the server from another program" example runs as
 * written with the protocol, server and client tarballs installed. Heavy: it runs npm and the registry.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_FOLDERS, repositoryRoot as root } from '../protocol/source-imports.js';

const run = promisify(execFile);
/** npm and node runs may be slow on a busy machine; these are bounds against hangs, not expectations. */
const COMMAND_TIMEOUT_MS = 240_000;
const TEST_TIMEOUT_MS = 600_000;

let work = '';
/** The tarball of each package folder. */
const tarballs = new Map<string, string>();
/** What each tarball holds, by package folder. */
const contents = new Map<string, string[]>();

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    timeout: COMMAND_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return stdout;
}

async function node(script: string, cwd: string): Promise<string> {
  const { stdout } = await run(process.execPath, [script], { cwd, timeout: COMMAND_TIMEOUT_MS });
  return stdout;
}

/** A copy of the example project in the temp folder, so packing it writes nothing in the repository. */
function exampleCopy(name: string): string {
  const target = join(work, name);
  cpSync(join(root, 'examples/demo-game'), target, {
    recursive: true,
    filter: (source) => !source.includes(`${join('demo-game', 'build')}`) && !source.includes('.prometeu/cache'),
  });
  return target;
}

/** An empty project with the given tarballs installed. */
async function projectWith(name: string, folders: readonly string[]): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }, null, 2));
  await npm(['install', ...folders.map((folder) => tarballs.get(folder)!)], dir);
  return dir;
}

/** The first `ts` code block of the README's "Using the server from another program" section. */
function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using the server from another program'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (block === null) throw new Error('README.md has no ts example under "Using the server from another program".');
  return block[1]!;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'packer-pack-'));
  const destination = join(work, 'tarballs');
  mkdirSync(destination);
  for (const folder of PACKAGE_FOLDERS) {
    const output = await npm(['pack', '--json', '--pack-destination', destination], join(root, folder));
    const [packed] = JSON.parse(output.slice(output.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarballs.set(folder, join(destination, packed!.filename));
    contents.set(
      folder,
      packed!.files.map((file) => file.path),
    );
  }
}, TEST_TIMEOUT_MS);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('each package tarball holds its build, its types, its README and its LICENSE', () => {
    for (const folder of PACKAGE_FOLDERS) {
      const files = contents.get(folder)!;
      const manifest = JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')) as { types: string };
      for (const expected of ['package.json', 'README.md', 'LICENSE', manifest.types.replace(/^\.\//, '')])
        expect(files, `${folder} tarball lacks ${expected}`).toContain(expected);
      expect(
        files.some((path) => path.startsWith('src/')),
        `${folder} tarball ships its sources`,
      ).toBe(false);
    }
    expect(contents.get('protocol')).toEqual(
      expect.arrayContaining(['schemas/asset.schema.json', 'schemas/index.schema.json']),
    );
    expect(contents.get('server')).toEqual(expect.arrayContaining(['bin/packer-server.js', 'dist/server-script.js']));
    expect(contents.get('cli')).toEqual(expect.arrayContaining(['bin/packer.js', 'dist/main.js']));
  });

  it(
    'the client installs without the server package and lists the example project with any serverCommand',
    async () => {
      const dir = await projectWith('client-only', ['protocol', 'client']);
      expect(existsSync(join(dir, 'node_modules/@prometeu/packer-client/package.json'))).toBe(true);
      expect(existsSync(join(dir, 'node_modules/@prometeu/packer-server'))).toBe(false);
      expect(existsSync(join(dir, 'node_modules/@parcel/watcher'))).toBe(false);
      const project = exampleCopy('client-only-game');
      writeFileSync(
        join(dir, 'list.mjs'),
        [
          `import { pathToFileURL } from 'node:url';`,
          `import { PackerClient } from '@prometeu/packer-client';`,
          `const client = PackerClient.spawn({ serverCommand: ${JSON.stringify(join(root, 'server/bin/packer-server.js'))} });`,
          `await client.start();`,
          `const { projectId } = await client.openProject({ rootUri: pathToFileURL(${JSON.stringify(project)}).href });`,
          `const { assets } = await client.listAssets({ projectId });`,
          `const stopped = await client.stop();`,
          `process.stdout.write(JSON.stringify({ roots: assets.map((asset) => asset.root).sort(), clean: stopped.clean }));`,
        ].join('\n'),
      );
      const result = JSON.parse(await node('list.mjs', dir)) as { roots: string[]; clean: boolean };
      expect(result.roots.length).toBeGreaterThan(0);
      expect(result.clean).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "the README's example for using the server from another program runs with protocol, server and client installed",
    async () => {
      const dir = await projectWith('all-three', ['protocol', 'server', 'client']);
      const project = exampleCopy('all-three-game');
      const example = readmeExample();
      expect(example).toContain("'/home/me/my-game'");
      writeFileSync(
        join(dir, 'example.mjs'),
        example.replace("'/home/me/my-game'", JSON.stringify(project)) +
          `process.stdout.write('RESULT ' + JSON.stringify({ assets: assets.length, packed: packed.outcome }) + '\\n');\n`,
      );
      const output = await node('example.mjs', dir);
      const line = output.split('\n').find((candidate) => candidate.startsWith('RESULT '));
      expect(line, output).toBeDefined();
      const result = JSON.parse(line!.slice('RESULT '.length)) as { assets: number; packed: string };
      expect(result.assets).toBeGreaterThan(0);
      expect(result.packed).toBe('succeeded');
      expect(existsSync(join(project, 'build/assets.pa'))).toBe(true);
      // The locator works from CommonJS too, and finds the installed package, not the repository's.
      writeFileSync(
        join(dir, 'locate.cjs'),
        `process.stdout.write(require('@prometeu/packer-server/server-script').serverScriptPath());\n`,
      );
      const located = await node('locate.cjs', dir);
      expect(located).toBe(join(realpathSync(dir), 'node_modules/@prometeu/packer-server/bin/packer-server.js'));
    },
    TEST_TIMEOUT_MS,
  );
});
