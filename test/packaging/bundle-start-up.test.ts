/**
 * What the bundled server evaluates before it can answer: Node modules that only a glyph decode needs
 * (pngjs brings `node:zlib` and `node:assert`) are not loaded at start-up, and the load thread's script,
 * which the server starts with itself, carries none of the protocol's method declarations (it needs zod only
 * for the declaration and registry schemas it parses with), and no thread starts and none of zod is evaluated
 * before the `initialize` result is written (the crawl threads start once the client says `initialized`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_SCRIPT } from '../lane/support.js';
import { repositoryRoot } from '../protocol/source-imports.js';

const BUNDLE = join(repositoryRoot, 'server/dist/bundle');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('the bundled server at start-up', () => {
  it('loads neither zlib nor assert before it is asked for a glyph decode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bundle-start-up-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // Preloaded into the server: at exit, the Node built-ins the process loaded.
    const preload = join(dir, 'loaded.cjs');
    const out = join(dir, 'loaded.txt');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')));\n`,
    );
    // `--version` evaluates the whole bundle (every module's top level) before it answers and exits.
    execFileSync(process.execPath, ['--require', preload, SERVER_SCRIPT, '--version'], { stdio: 'ignore' });
    const loaded = readFileSync(out, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule worker_threads');
    expect(loaded).not.toContain('NativeModule zlib');
    expect(loaded).not.toContain('NativeModule assert');
  });

  it("keeps the protocol's method declarations out of the load thread's script", () => {
    // The load thread parses every asset.json and index.json, so zod is in it; the requests, results and
    // events the protocol declares are not.
    const script = readFileSync(join(BUNDLE, 'crawl-thread.js'), 'utf8');
    expect(script).not.toMatch(/packer\/openProject/);
    expect(script).not.toMatch(/packer\/getAssetDetails/);
  });

  it('starts no thread and evaluates no zod before its initialize result is written, and its crawl threads once initialized', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bundle-start-up-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // Preloaded into the server: every Worker started and the first write to stdout, in order, written at exit.
    const preload = join(dir, 'order.cjs');
    const out = join(dir, 'order.txt');
    writeFileSync(
      preload,
      [
        "const threads = require('node:worker_threads');",
        'const seen = [];',
        'const Original = threads.Worker;',
        "threads.Worker = class extends Original { constructor(...args) { seen.push('worker ' + String(args[0]).split('/').pop()); super(...args); } };",
        'const write = process.stdout.write.bind(process.stdout);',
        // zod sets globalThis.__zod_globalConfig when it is evaluated (zod/v4/core/core.js).
        "process.stdout.write = (...args) => { if (!seen.includes('answer')) seen.push('answer', 'zod evaluated: ' + ('__zod_globalConfig' in globalThis)); return write(...args); };",
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, seen.join('\\n')));`,
      ].join('\n'),
    );
    const frame = (message: object): string => {
      const body = JSON.stringify({ jsonrpc: '2.0', ...message });
      return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const child = spawn(process.execPath, ['--require', preload, SERVER_SCRIPT, '--stdio'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    child.stdin.write(
      frame({ id: 1, method: 'initialize', params: { processId: null, capabilities: {}, rootUri: null } }),
    );
    let answered = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        answered += chunk.toString('utf8');
        if (answered.includes('"id":1')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin.write(
      frame({ method: 'initialized', params: {} }) + frame({ id: 2, method: 'shutdown' }) + frame({ method: 'exit' }),
    );
    expect(await exited).toBe(0);
    const order = readFileSync(out, 'utf8').split('\n');
    expect(order[0]).toBe('answer');
    expect(order[1]).toBe('zod evaluated: false');
    expect(order.filter((entry) => entry === 'worker crawl-thread.js').length).toBeGreaterThan(0);
  });
});
