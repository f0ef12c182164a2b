/**
 * The `packer` executable: runs one CLI invocation against this process's streams and sets the exit code.
 * The first Ctrl-C cancels the request in flight and stops the server; a second one exits at once.
 */
import { ExitCode } from './args.js';
import { runCli } from './run.js';
import { runUi } from './ui/command.js';

const interrupt = new AbortController();
const onInterrupt = (): void => {
  if (interrupt.signal.aborted) process.exit(ExitCode.Interrupted);
  interrupt.abort();
};
process.on('SIGINT', onInterrupt);
// A reader that goes away (packer list | head) is not an error of ours.
process.stdout.on('error', () => undefined);

const io = {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
  signal: interrupt.signal,
};
const argv = process.argv.slice(2);
// `packer ui` is a long-running panel rather than one request: it has its own runner (cli/src/ui/).
const code = argv[0] === 'ui' ? await runUi(argv.slice(1), io) : await runCli(argv, io);
process.off('SIGINT', onInterrupt);
process.exitCode = code;
