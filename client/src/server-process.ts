/**
 * The child process of a spawned packer server: how it is started, the tail of its stderr, and how it ended.
 * It knows nothing of JSON-RPC; the client reads and writes its stdio.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** How a server process ended. */
export interface ProcessExit {
  /** The exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
}

/** What a server process needs to start. */
export interface ServerProcessOptions {
  /** A script (run with `process.execPath`) or an executable. */
  readonly command: string;
  /** Arguments after the command. */
  readonly args: readonly string[];
  /** The working directory; this process's when undefined. */
  readonly cwd: string | undefined;
  /** The whole environment; this process's when undefined. */
  readonly env: NodeJS.ProcessEnv | undefined;
  /** Bytes of stderr to keep. */
  readonly stderrTailBytes: number;
}

/** Whether a server command is a script to run with the current Node (or Electron-as-Node) runtime. */
export function isNodeScript(command: string): boolean {
  return /\.(?:m|c)?js$/i.test(command);
}

/**
 * A running server process. `exited` settles once, when the process has ended and its stderr is drained
 * (or shortly after the end if a grandchild keeps stderr open).
 */
export class ServerProcess {
  /** The child process; its stdin and stdout carry the protocol. */
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  /** The command line, for messages. */
  readonly commandLine: string;
  /** Resolves with how the process ended; never rejects. */
  readonly exited: Promise<ProcessExit>;
  /** Resolves with the spawn error when the process could not start; stays pending otherwise. */
  readonly spawnFailed: Promise<Error>;
  /** Invariant: the last `stderrTailBytes` bytes of stderr, oldest first. */
  private stderrChunks: Buffer[] = [];
  private stderrBytes = 0;
  /** Invariant: set when the process has ended (the `exit` event, or a failed spawn). */
  private exitInfo: ProcessExit | undefined;
  private readonly stderrListeners = new Set<(text: string) => void>();

  /** Spawns the process right away. */
  constructor(private readonly options: ServerProcessOptions) {
    const scripted = isNodeScript(options.command);
    const command = scripted ? process.execPath : options.command;
    const args = scripted ? [options.command, ...options.args] : [...options.args];
    const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
    // Inside Electron, process.execPath is the Electron binary: ask it to behave as plain Node.
    if (scripted && process.versions['electron'] !== undefined) env['ELECTRON_RUN_AS_NODE'] = '1';
    this.commandLine = [command, ...args].join(' ');
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.child.stderr.on('data', (chunk: Buffer) => this.recordStderr(chunk));
    // Writes to a dead server's stdin fail with EPIPE, and its pipes may error as it dies: the exit is what
    // gets reported, through `exited`.
    this.child.stdin.on('error', () => undefined);
    this.child.stdout.on('error', () => undefined);
    this.child.stderr.on('error', () => undefined);
    let failSpawn: (error: Error) => void = () => undefined;
    this.spawnFailed = new Promise<Error>((resolve) => (failSpawn = resolve));
    this.exited = new Promise<ProcessExit>((resolve) => {
      let drainTimer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (drainTimer !== undefined) clearTimeout(drainTimer);
        resolve(this.exitInfo!);
      };
      this.child.on('error', (error) => {
        // Only a failed spawn ends the process this way; a failed kill of a live process is ignored.
        if (this.child.pid !== undefined) return;
        this.exitInfo = { exitCode: null, signal: null };
        failSpawn(error);
        finish();
      });
      this.child.once('exit', (exitCode, signal) => {
        this.exitInfo = { exitCode, signal };
        // Wait for stderr to drain (the `close` event), but not forever: a grandchild may hold it open.
        drainTimer = setTimeout(finish, 500);
        drainTimer.unref();
      });
      this.child.once('close', () => {
        if (this.exitInfo !== undefined) finish();
      });
    });
  }

  /** The process id, once spawned. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the process ended, once it has. */
  get exit(): ProcessExit | undefined {
    return this.exitInfo;
  }

  /** The last bytes of stderr, as text. */
  stderrTail(): string {
    let text = Buffer.concat(this.stderrChunks).toString('utf8');
    // The cut may have split a character; drop the broken start.
    if (this.stderrBytes >= this.options.stderrTailBytes) text = text.replace(/^\uFFFD+/, '');
    return text;
  }

  /** Calls `listener` with each chunk of stderr as text. Returns the unsubscribe function. */
  onStderr(listener: (text: string) => void): () => void {
    this.stderrListeners.add(listener);
    return () => this.stderrListeners.delete(listener);
  }

  /** Sends `signal` unless the process has ended. */
  kill(signal: NodeJS.Signals): void {
    if (this.exitInfo !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      this.child.kill(signal);
    } catch {
      // It ended in the meantime.
    }
  }

  private recordStderr(chunk: Buffer): void {
    this.stderrChunks.push(chunk);
    this.stderrBytes += chunk.length;
    let total = this.stderrChunks.reduce((sum, piece) => sum + piece.length, 0);
    while (total > this.options.stderrTailBytes && this.stderrChunks.length > 0) {
      const first = this.stderrChunks[0]!;
      const excess = total - this.options.stderrTailBytes;
      if (first.length <= excess) {
        this.stderrChunks.shift();
        total -= first.length;
      } else {
        this.stderrChunks[0] = first.subarray(excess);
        total -= excess;
      }
    }
    if (this.stderrListeners.size > 0) {
      const text = chunk.toString('utf8');
      for (const listener of this.stderrListeners) listener(text);
    }
  }
}
