/**
 * The real `packer-server --stdio` process for the adversarial tests: raw bytes in, parsed frames out,
 * and waits that end on a condition or a deadline, never on a sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The real server's entry script (built by `npx tsc -b`). */
export const SERVER_SCRIPT = fileURLToPath(new URL('../../server/bin/packer-server.js', import.meta.url));

/** A message the server wrote. */
export type Received = Record<string, unknown> & {
  id?: string | number | null;
  error?: { code: number; message: string };
  result?: unknown;
};

/** One LSP frame around a body. */
export function frame(body: string | Buffer): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`, 'latin1'), bytes]);
}

/** A framed JSON-RPC request. */
export function request(id: string | number, method: string, params?: unknown): Buffer {
  return frame(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) }));
}

/** A running server process; dispose it after the test. */
export class ServerProcess {
  /** Invariant: every complete frame the server wrote so far, in order. */
  readonly received: Received[] = [];
  /** Invariant: everything the server wrote to stderr so far. */
  stderr = '';
  /** Invariant: undefined while running; the exit code (null when killed by a signal) once it exited. */
  exitCode: number | null | undefined = undefined;
  private readonly child: ChildProcess;
  private stdout = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();

  constructor() {
    this.child = spawn(process.execPath, [SERVER_SCRIPT, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout = Buffer.concat([this.stdout, chunk]);
      this.parse();
      this.notify();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    // Writes after the server exited fail with EPIPE; the test looks at the exit code instead.
    this.child.stdin!.on('error', () => undefined);
    this.child.on('exit', (code) => {
      this.exitCode = code;
      this.notify();
    });
  }

  /** Writes raw bytes to the server's stdin, waiting for the pipe to take them. */
  async write(bytes: Buffer | string): Promise<void> {
    const stdin = this.child.stdin!;
    if (this.exitCode !== undefined || stdin.destroyed) return;
    if (!stdin.write(bytes)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        stdin.on('close', done);
      });
    }
  }

  /** Ends the server's stdin. */
  endInput(): void {
    this.child.stdin!.end();
  }

  /** Waits until `condition` holds or `timeoutMs` passed; returns whether it holds. */
  waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (!condition()) return;
        finish(true);
      };
      const timer = setTimeout(() => finish(condition()), timeoutMs);
      const finish = (value: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      this.waiters.add(check);
    });
  }

  /** The answer to `id`, if it arrived. */
  answerTo(id: string | number | null): Received | undefined {
    return this.received.find((message) => message.id === id && ('result' in message || 'error' in message));
  }

  /** Initializes the server with the given workspace folders and returns the result. */
  async initialize(workspaceFolders: Array<{ uri: string; name: string }> = []): Promise<Received> {
    await this.write(
      request('init', 'initialize', { processId: null, rootUri: null, capabilities: {}, workspaceFolders }),
    );
    await this.waitFor(() => this.answerTo('init') !== undefined);
    await this.write(frame(JSON.stringify({ jsonrpc: '2.0', method: 'initialized', params: {} })));
    return this.answerTo('init')!;
  }

  /** Kills the process if it still runs. */
  dispose(): void {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private parse(): void {
    for (;;) {
      const headerEnd = this.stdout.indexOf('\r\n\r\n');
      if (headerEnd === -1) return;
      const match = /Content-Length: (\d+)/i.exec(this.stdout.subarray(0, headerEnd).toString('latin1'));
      if (match === null) throw new Error(`the server wrote a frame without Content-Length: ${this.stdout.toString()}`);
      const length = Number(match[1]);
      if (this.stdout.length < headerEnd + 4 + length) return;
      const body = this.stdout.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
      this.received.push(JSON.parse(body) as Received);
      this.stdout = this.stdout.subarray(headerEnd + 4 + length);
    }
  }
}
