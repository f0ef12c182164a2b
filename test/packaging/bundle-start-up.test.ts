/**
 * What the bundled server evaluates before it can answer: Node modules that only a glyph decode needs
 * (pngjs brings `node:zlib` and `node:assert`) are not loaded at start-up, and the load thread's script,
 * which the server starts with itself, carries none of the protocol's method declarations (it needs zod only
 * for the declaration and registry schemas it parses with).
 */
import { execFileSync } from 'node:child_process';
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
});
