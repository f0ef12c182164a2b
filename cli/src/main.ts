/**
 * The `packer` executable: runs one CLI invocation against this process's streams and sets the exit code.
 * The first Ctrl-C cancels the request in flight and stops the server; a second one exits at once.
 */
import { ExitCode } from './args.js';
import { runCli } from './run.js';

const interrupt = new AbortController();
const onInterrupt = (): void => {
  if (interrupt.signal.aborted) process.exit(ExitCode.Interrupted);
  interrupt.abort();
};
process.on('SIGINT', onInterrupt);
// A reader that goes away (packer list | head) is not an error of ours.
process.stdout.on('error', () => undefined);

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
  signal: interrupt.signal,
});
process.off('SIGINT', onInterrupt);
process.exitCode = code;
