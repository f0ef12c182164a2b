/** The writer lock while this process holds it: a lock file replaced, rewritten or deleted behind its back is noticed at the next write. */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import { LOCK_PATH, WriterLock } from '../../server/src/project/writer-lock.js';
import { useTempDirs } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-writer-lock-');

/** A lock held by this process, and where its file is. */
function heldLock(): { lock: WriterLock; file: string } {
  const dir = tempDir();
  mkdirSync(join(dir, 'assets'), { recursive: true });
  const lock = new WriterLock(ProjectFs.openRoot(dir).at('assets'));
  expect(lock.acquire()).toEqual({ ok: true });
  return { lock, file: join(dir, 'assets', ...LOCK_PATH.split('/')) };
}

/** The lock file's content with another token of the same length (a live holder: this very process). */
function otherToken(file: string): string {
  const content = JSON.parse(readFileSync(file, 'utf8')) as { token: string };
  return `${JSON.stringify({ ...content, token: content.token.replace(/./g, (c) => (c === '0' ? '1' : '0')) })}\n`;
}

describe('the writer lock, once taken', () => {
  it('stays taken while nothing touches its file', () => {
    const { lock } = heldLock();
    expect(lock.acquire()).toEqual({ ok: true });
    expect(lock.acquire()).toEqual({ ok: true });
    expect(lock.state()).toBe('owned');
  });

  it('is lost when another process puts its own lock in place (a new file renamed over it)', () => {
    const { lock, file } = heldLock();
    writeFileSync(`${file}.other`, otherToken(file));
    renameSync(`${file}.other`, file);
    expect(lock.acquire()).toMatchObject({ ok: false, holderPid: process.pid });
  });

  it('is lost when its file is rewritten in place with another token of the same length', () => {
    const { lock, file } = heldLock();
    writeFileSync(file, otherToken(file));
    expect(lock.acquire()).toMatchObject({ ok: false, holderPid: process.pid });
  });

  it('is taken again when its file was deleted by hand', () => {
    const { lock, file } = heldLock();
    rmSync(file);
    expect(lock.acquire()).toEqual({ ok: true });
    expect(readFileSync(file, 'utf8')).toContain(`"pid":${process.pid}`);
  });
});
