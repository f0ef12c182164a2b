/**
 * Runs a real editor headless against the real packer server: a fresh copy of the example project, the
 * editor's script with its paths in the environment, a bounded wait, and what the script observed.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real server's entry script (built by `tsc -b`). */
export const SERVER_SCRIPT = fileURLToPath(new URL('../../server/bin/packer-server.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/demo-game', import.meta.url));

/** What an editor script writes: each step with the diagnostics then shown, and how the server ended. */
export interface Observed {
  readonly steps: { name: string; met: boolean; diagnostics: { code: string; source: string; line: number }[] }[];
  readonly exit?: { code: number; signal?: number; status?: string; live?: boolean };
  readonly modified?: boolean;
  readonly logMessages: string[];
  readonly errors: string[];
  readonly [extra: string]: unknown;
}

/** The result of one editor run. */
export interface EditorRun {
  readonly observed: Observed;
  readonly exitCode: number | null;
  readonly output: string;
}

/**
 * Runs `command args` with `PACKER_PROJECT`, `PACKER_SERVER` and `PACKER_OUT` set, on a fresh copy of the
 * example project. The editor is killed after `timeoutMs` (its script bounds every wait well below that).
 */
export async function runEditor(
  command: string,
  args: (out: string) => string[],
  timeoutMs = 90_000,
): Promise<EditorRun> {
  const temporary = realpathSync(mkdtempSync(join(tmpdir(), 'packer-editor-')));
  const project = join(temporary, 'demo-game');
  cpSync(EXAMPLE, project, { recursive: true, filter: (source) => !source.includes(`${EXAMPLE}/build`) });
  const out = join(temporary, 'observed.json');
  try {
    const child = spawn(command, args(out), {
      cwd: temporary,
      env: { ...process.env, PACKER_PROJECT: project, PACKER_SERVER: SERVER_SCRIPT, PACKER_OUT: out, HOME: temporary },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    }).finally(() => clearTimeout(timer));
    if (!existsSync(out)) throw new Error(`${command} wrote no observations (exit ${exitCode}):\n${output}`);
    const observed = JSON.parse(readFileSync(out, 'utf8')) as Observed;
    return { observed, exitCode, output };
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
}

/** Whether a command is on the PATH (the editors come from Debian packages that `.ci/run` installs). */
export function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((folder) => folder !== '' && existsSync(join(folder, command)));
}
