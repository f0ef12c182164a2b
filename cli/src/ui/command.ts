/**
 * `packer ui [PROJECT_DIR] [--port N] [--no-open]`: starts the relay, prints the one line with the page's
 * address, opens it in the browser when there is a display, and runs until interrupted (Ctrl-C), when it
 * closes the pages' sockets and ends their servers.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ExitCode } from '../args.js';
import type { CliEnvironment } from '../run.js';
import { locateServer } from '../run.js';
import { startRelay } from './relay.js';

/** The help text of `packer ui`. */
export const UI_HELP = `Usage: packer ui [PROJECT_DIR] [--port N] [--no-open]

Serves the packer panel for PROJECT_DIR (default: the current folder) on 127.0.0.1 and prints its
address, with this run's token: Packer UI: http://127.0.0.1:PORT/?token=TOKEN
Each page talks to a packer server of its own through a WebSocket relay. Ctrl-C stops it.

Options:
  --port N     listen on port N (default: a free port)
  --no-open    do not open the browser (it is not opened either when there is no display)
  -h, --help   show this help
`;

/** The folder of the built page (`index.html`, `app.js`, `app.css`), next to this module in `dist/ui/`. */
export function staticDir(): string {
  return fileURLToPath(new URL('./static/', import.meta.url));
}

/** Runs `packer ui`; resolves with the exit code once interrupted. */
export async function runUi(argv: readonly string[], io: CliEnvironment): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        'no-open': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.stderr.write(`packer ui: ${error instanceof Error ? error.message : String(error)}\n${UI_HELP}`);
    return ExitCode.Usage;
  }
  if (parsed.values.help) {
    io.stdout.write(UI_HELP);
    return ExitCode.Success;
  }
  if (parsed.positionals.length > 1) {
    io.stderr.write(`packer ui: expected at most one PROJECT_DIR, got ${parsed.positionals.length}\n`);
    return ExitCode.Usage;
  }
  const port = parsed.values.port === undefined ? 0 : Number(parsed.values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr.write(`packer ui: --port must be an integer from 0 to 65535, got ${parsed.values.port}\n`);
    return ExitCode.Usage;
  }
  const projectDir = resolve(io.cwd, parsed.positionals[0] ?? '.');
  if (!existsSync(projectDir) || !statSync(projectDir).isDirectory()) {
    io.stderr.write(`packer ui: ${projectDir} is not a folder\n`);
    return ExitCode.Usage;
  }
  const server = locateServer(io.env);
  const viaNode = /\.[cm]?js$/.test(server);
  let relay;
  try {
    relay = await startRelay({
      staticDir: staticDir(),
      projectUri: pathToFileURL(projectDir).href,
      serverCommand: viaNode ? process.execPath : server,
      serverArgs: viaNode ? [server, '--stdio'] : ['--stdio'],
      port,
    });
  } catch (error) {
    io.stderr.write(
      `packer ui: could not listen on 127.0.0.1:${port}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return ExitCode.ServerFailure;
  }
  io.stdout.write(`Packer UI: ${relay.url}\n`);
  if (!parsed.values['no-open'] && hasDisplay(io.env)) openInBrowser(relay.url);
  if (io.signal !== undefined && !io.signal.aborted)
    await new Promise<void>((done) => io.signal!.addEventListener('abort', () => done(), { once: true }));
  else if (io.signal === undefined) await new Promise<void>(() => undefined);
  await relay.close();
  return ExitCode.Success;
}

/** Whether a browser could be shown: always on macOS and Windows; on Linux only with `DISPLAY` or `WAYLAND_DISPLAY`. */
function hasDisplay(env: NodeJS.ProcessEnv): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(env['DISPLAY']) || Boolean(env['WAYLAND_DISPLAY']);
}

/** Opens `url` with the platform's opener, detached; a missing opener is not an error (the line was printed). */
function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // The address is printed; the person can open it.
  }
}
