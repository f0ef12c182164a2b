/**
 * The script the pack's hashing thread runs: it loads `pack-hasher.ts`, whose worker half then hashes what
 * the main thread sends. A file of its own so that the bundled server (server/scripts/bundle.js) has a small
 * entry to start: inside the bundle `import.meta.url` names the whole server, whose top level would start a
 * server again.
 */
import { announceWorker } from '../io/worker-announce.js';

announceWorker('hash', import.meta.url);
await import('./pack-hasher.js');
