/**
 * The script the verification crawl's worker thread runs: it loads `crawl-worker.ts`, whose worker half
 * then crawls and answers. A file of its own so that the bundled server (server/scripts/bundle.js) has a
 * small entry to start: inside the bundle `import.meta.url` names the whole server, whose top level would
 * start a server again. The crawl module is imported after the announcement, which a crawl answered and
 * terminated first would otherwise cut off.
 */
import { announceWorker } from '../io/worker-announce.js';

announceWorker('crawl', import.meta.url);
await import('./crawl-worker.js');
