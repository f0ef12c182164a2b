/**
 * Helpers of the client and CLI tests: temp projects in the documented on-disk format, the paths of the
 * real server and the purpose-built test servers, and a tracker that disposes every client and folder a
 * test created, in `afterEach`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach } from 'vitest';
import type { PackerClient, PackerEvent } from '../../client/src/index.js';

/** The real server's entry script (built by `npx tsc -b`). */
export const SERVER_SCRIPT = fileURLToPath(new URL('../../server/bin/packer-server.js', import.meta.url));

/** The CLI's entry script. */
export const CLI_SCRIPT = fileURLToPath(new URL('../../cli/bin/packer.js', import.meta.url));

/** A purpose-built misbehaving test server, by file name without extension. */
export function fixtureServer(
  name:
    | 'crash-on-notification'
    | 'hang-on-shutdown'
    | 'silent-initialize'
    | 'garbage-stdout'
    | 'scripted-writes'
    | 'refuse-submission'
    | 'cut-mid-frame',
): string {
  return fileURLToPath(new URL(`../fixtures/servers/${name}.mjs`, import.meta.url));
}

/** The uuid of the `hero` asset of {@link writeProject}. */
export const HERO_UUID = '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70';

/** What {@link writeProject} can vary. */
export interface ProjectOptions {
  /** Leave out `hero/hero.bin`, so the registered asset has a blocking `input-missing` diagnostic. */
  readonly withoutHeroInput?: boolean;
  /** Add an unregistered root `extra`. */
  readonly withUnregistered?: boolean;
}

/**
 * Writes a project with one registered blob asset `hero` (asset id 1) into `dir`:
 * `assets/.prometeu/index.json`, `assets/hero/asset.json` and `assets/hero/hero.bin`.
 */
export function writeProject(dir: string, options: ProjectOptions = {}): void {
  const registry = {
    assets: [{ asset_id: 1, asset_uuid: HERO_UUID, included_in_build: true, root: 'hero' }],
    next_asset_id: 2,
    schema_version: 1,
  };
  const declaration = (uuid: string, name: string, input: string): unknown => ({
    schema_version: 1,
    asset_uuid: uuid,
    name,
    type: 'blob',
    inputs: { data: [input] },
    output: { format: 'BLOB/raw_v1', codec: 'NONE' },
    preload: { enabled: false },
  });
  mkdirSync(join(dir, 'assets', '.prometeu'), { recursive: true });
  mkdirSync(join(dir, 'assets', 'hero'), { recursive: true });
  writeFileSync(join(dir, 'assets', '.prometeu', 'index.json'), `${JSON.stringify(registry, null, 2)}\n`);
  writeFileSync(
    join(dir, 'assets', 'hero', 'asset.json'),
    `${JSON.stringify(declaration(HERO_UUID, 'hero', 'hero.bin'), null, 2)}\n`,
  );
  if (options.withoutHeroInput !== true)
    writeFileSync(join(dir, 'assets', 'hero', 'hero.bin'), Buffer.from([1, 2, 3, 4]));
  if (options.withUnregistered === true) {
    mkdirSync(join(dir, 'assets', 'extra'), { recursive: true });
    writeFileSync(
      join(dir, 'assets', 'extra', 'asset.json'),
      `${JSON.stringify(declaration('9d3c1b2a-0f4e-4a5b-8c7d-6e5f4a3b2c1d', 'extra', 'extra.bin'), null, 2)}\n`,
    );
    writeFileSync(join(dir, 'assets', 'extra', 'extra.bin'), 'extra');
  }
}

/** The `file:` URI of a folder. */
export function uriOf(dir: string): string {
  return pathToFileURL(dir).href;
}

/**
 * Everything one test created: temp folders and clients. `track()` registers the `afterEach` that stops
 * every client (killing what hangs) and removes every folder, whatever the test's outcome.
 */
export function track(): { tempDir: () => string; client: <T extends PackerClient>(client: T) => T } {
  const dirs: string[] = [];
  const clients: PackerClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    tempDir: () => {
      const dir = mkdtempSync(join(tmpdir(), 'packer-client-test-'));
      dirs.push(dir);
      return dir;
    },
    client: (client) => {
      clients.push(client);
      return client;
    },
  };
}

/** Resolves with the first event `predicate` accepts, or rejects after `timeoutMs`. */
export function nextEvent(
  client: PackerClient,
  predicate: (event: PackerEvent) => boolean,
  timeoutMs = 10_000,
): Promise<PackerEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`No matching packer/event within ${timeoutMs} ms.`));
    }, timeoutMs);
    const unsubscribe = client.onEvent((event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

/** Resolves with the params of the next notification `method`, or rejects after `timeoutMs`. */
export function nextNotification(client: PackerClient, method: string, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`No ${method} notification within ${timeoutMs} ms.`));
    }, timeoutMs);
    const unsubscribe = client.onNotification(method, (params) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(params);
    });
  });
}

/** Whether a process is still running. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A blob asset spec for `workspace-builder`'s `writeProject`: `x.bin` holding `content`. */
export function blobAsset(
  root: string,
  content: string,
  extra: { registered?: boolean | number; preload?: boolean; included?: boolean } = {},
): {
  root: string;
  type: string;
  inputs: Record<string, string[]>;
  output: { format: string; codec: string };
  files: Record<string, string>;
  registered?: boolean | number;
  preload?: boolean;
  included?: boolean;
} {
  return {
    root,
    type: 'blob',
    inputs: { data: ['x.bin'] },
    output: { format: 'BLOB/raw_v1', codec: 'NONE' },
    files: { 'x.bin': content },
    ...extra,
  };
}

/** What a CLI run printed and how it ended. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `packer ...` (the built CLI) to completion; the test's own timeout bounds it. */
export function runPacker(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_SCRIPT, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, PACKER_SERVER: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Resolves once `check()` returns a value other than undefined, calling it again each time the previous
 * call settled; rejects after `timeoutMs` naming `what`. For conditions only a new look can answer (a
 * fresh CLI run, a fresh read), never a sleep.
 */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
  }
}

/**
 * Resolves once the project's format validation has published its results (no asset pending). A read that
 * says so is answered after the validation's `snapshot.published` event, so the client has received it.
 */
export async function validated(client: PackerClient, projectId: string): Promise<void> {
  await eventually(
    async () => ((await client.projectStatus({ projectId })).counts.validationPending === 0 ? true : undefined),
    'format validation to finish',
  );
}
