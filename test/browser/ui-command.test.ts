/**
 * `packer ui` as a process: it prints exactly one line with the address and token, serves the page only with
 * the token, lets the connection-agnostic client talk to the real server through the relay, and stops the
 * relay and every server it started on SIGINT (Ctrl-C).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { PackerConnection, WebSocketMessageReader, WebSocketMessageWriter } from '../../client/src/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'cli/bin/packer.js');
const LINE = /^Packer UI: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]{48}))\n$/;
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function project(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'packer-ui-cli-')));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'examples/demo-game'), join(dir, 'demo-game'), { recursive: true });
  return join(dir, 'demo-game');
}

/** Starts `packer ui` without a display; resolves with the process and everything it printed by its first line. */
async function startUi(args: string[]): Promise<{ child: ChildProcess; stdout: () => string; url: string }> {
  const env = { ...process.env };
  delete env['DISPLAY'];
  delete env['WAYLAND_DISPLAY'];
  const child = spawn(process.execPath, [CLI, 'ui', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => child.kill('SIGKILL'));
  let stdout = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`packer ui exited with ${code} before printing its address`)));
  });
  return { child, stdout: () => stdout, url: LINE.exec(stdout)?.[1] ?? '' };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('packer ui', () => {
  it('prints exactly one line with its address and token, and serves the page only with the token', async () => {
    const { child, stdout, url } = await startUi([project(), '--no-open']);
    expect(stdout()).toMatch(LINE);
    const withToken = await fetch(url);
    expect(withToken.status).toBe(200);
    expect(await withToken.text()).toContain('<title>Packer UI</title>');
    const without = await fetch(url.replace(/\?token=.*/, ''));
    expect(without.status).toBe(401);
    expect(await without.text()).toBe('');
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    expect(stdout().split('\n').filter(Boolean)).toHaveLength(1);
  }, 60_000);

  it('carries the typed client to the real server, and Ctrl-C stops the relay and that server', async () => {
    const dir = project();
    const { child, url } = await startUi([dir, '--no-open', '--port', '0']);
    const address = new URL(url);
    const socket = new WebSocket(`ws://${address.host}/rpc?token=${address.searchParams.get('token')}`, {
      origin: address.origin,
    });
    await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
    const client = PackerConnection.fromReaderWriter(
      new WebSocketMessageReader(socket),
      new WebSocketMessageWriter(socket),
    );
    const initialized = await client.start({ clientInfo: { name: 'ui-command-test' } });
    expect(initialized.serverInfo.name).toBeDefined();
    const status = await client.openProject({ rootUri: pathToFileURL(dir).href });
    const listed = await client.listAssets({ projectId: status.projectId });
    expect(listed.assets.length).toBe(status.counts.roots);
    const serverPids = await childPids(child.pid!);
    expect(serverPids.length).toBeGreaterThan(0);
    const closed = new Promise<void>((resolve) => client.onExit(() => resolve()));
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    await closed;
    for (const serverPid of serverPids) expect(isAlive(serverPid), `server ${serverPid}`).toBe(false);
  }, 60_000);

  it('refuses a bad port and a project folder that does not exist, with the usage exit code', async () => {
    for (const args of [['--port', 'x'], ['/no/such/folder/anywhere']]) {
      const child = spawn(process.execPath, [CLI, 'ui', '--no-open', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      expect(await exited(child)).toBe(2);
    }
  }, 60_000);
});

/** The pids of a process's children (Linux /proc). */
async function childPids(pid: number): Promise<number[]> {
  const { readFileSync, readdirSync } = await import('node:fs');
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}
