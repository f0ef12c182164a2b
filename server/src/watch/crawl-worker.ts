/**
 * The verification crawl off the main thread: crawls `assets/` and fingerprints every file in a worker,
 * so that a 100k-root workspace does not stall reads for seconds. Falls back to the same work inline when
 * a worker cannot be started (for example when running from TypeScript sources in tests).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { crawlAssets, type CrawlResult } from '../domain/crawl.js';
import { fingerprintOf } from './fingerprint.js';

/** What the verification crawl returns. */
export interface VerifiedDisk {
  readonly crawl: CrawlResult;
  readonly fingerprints: Map<string, string>;
}

function crawlAndFingerprint(assetsDir: string): { crawl: CrawlResult; fingerprints: [string, string][] } {
  const crawl = crawlAssets(assetsDir);
  const fingerprints: [string, string][] = [];
  for (const file of crawl.files) {
    const fingerprint = fingerprintOf(assetsDir, file);
    if (fingerprint !== null) fingerprints.push([file, fingerprint]);
  }
  return { crawl, fingerprints };
}

/** Crawls and fingerprints `assetsDir`, in a worker thread when possible. Rejects when `assets/` cannot be listed. */
export async function verifyDisk(assetsDir: string): Promise<VerifiedDisk> {
  const url = new URL(import.meta.url);
  let worker: Worker | undefined;
  if (url.pathname.endsWith('.js')) {
    try {
      worker = new Worker(url, { workerData: { assetsDir }, execArgv: [] });
    } catch {
      worker = undefined;
    }
  }
  if (worker === undefined) {
    const inline = crawlAndFingerprint(assetsDir);
    return { crawl: inline.crawl, fingerprints: new Map(inline.fingerprints) };
  }
  const started = worker;
  return new Promise<VerifiedDisk>((resolve, reject) => {
    started.once('message', (message: { ok: true; crawl: CrawlResult; fingerprints: [string, string][] } | { ok: false; error: string }) => {
      void started.terminate();
      if (message.ok) resolve({ crawl: message.crawl, fingerprints: new Map(message.fingerprints) });
      else reject(new Error(message.error));
    });
    started.once('error', (error) => reject(error));
  });
}

if (!isMainThread && parentPort !== null && typeof (workerData as { assetsDir?: unknown } | null)?.assetsDir === 'string') {
  try {
    parentPort.postMessage({ ok: true, ...crawlAndFingerprint((workerData as { assetsDir: string }).assetsDir) });
  } catch (error) {
    parentPort.postMessage({ ok: false, error: (error as Error).message });
  }
}
