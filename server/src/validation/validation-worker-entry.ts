/**
 * The script the format validation's worker thread runs: it loads `validation-worker.ts`, whose worker half
 * then answers the main thread's requests. A file of its own so that the bundled server
 * (server/scripts/bundle.js) has a small entry to start: inside the bundle `import.meta.url` names the whole
 * server, whose top level would start a server again.
 */
import { announceWorker } from '../io/worker-announce.js';

announceWorker('validation', import.meta.url);
await import('./validation-worker.js');
