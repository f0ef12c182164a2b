/**
 * The packer panel in a real browser (Debian's Chromium, driven by playwright-core) against the real server
 * on a copy of examples/demo-game, through the `packer ui` relay. Each test owns its project copy and its
 * relay; the browser is shared by the file. `UPDATE_SCREENSHOTS=1` writes the screenshots into docs/.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PackerClient } from '../../client/src/index.js';
import type { StudioMessage } from '../../studio/src/index.js';
import { startRelay, type Relay } from '../../cli/src/ui/relay.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_SCRIPT = join(ROOT, 'server/bin/packer-server.js');
const BUILT_PAGE = join(ROOT, 'cli/dist/ui/static');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const HOLD_AT_PROGRESS = join(ROOT, 'test/browser/fixtures/hold-at-progress.mjs');
const SCREENSHOTS = process.env['UPDATE_SCREENSHOTS'] === '1';
const STEP_MS = 20_000;

let browser: Browser;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface World {
  readonly project: string;
  readonly relay: Relay;
  readonly page: Page;
}

/**
 * A copy of the example project, a relay for it with the real server, and a page open on it. `serverArgs`
 * (given the folder the test may use for its own files) replaces the server's arguments to node.
 */
async function world(options: { serverArgs?: (dir: string) => string[] } = {}): Promise<World & { dir: string }> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'packer-ui-')));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const project = join(dir, 'demo-game');
  cpSync(join(ROOT, 'examples/demo-game'), project, { recursive: true });
  const relay = await startRelay({
    staticDir: BUILT_PAGE,
    projectUri: pathToFileURL(project).href,
    serverCommand: process.execPath,
    serverArgs: options.serverArgs?.(dir) ?? [SERVER_SCRIPT, '--stdio'],
    port: 0,
  });
  cleanups.push(() => relay.close());
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  cleanups.push(() => expect(errors).toEqual([]));
  await page.goto(relay.url);
  await page.locator('#connection[data-state="connected"]').waitFor({ timeout: STEP_MS });
  await page.locator('[data-testid="navigator"] [data-root]').first().waitFor({ timeout: STEP_MS });
  return { project, relay, page, dir };
}

/** The page's reducer input so far (every request, response and event it reduced). */
function pageLog(page: Page): Promise<StudioMessage[]> {
  return page.evaluate(() => (globalThis as unknown as { packerLog: unknown[] }).packerLog) as Promise<StudioMessage[]>;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot({ path: join(ROOT, 'docs', `studio-${name}.png`) });
}

/** Lists the project's assets with a client of its own (another server process, reads only). */
async function listAssets(project: string): Promise<Awaited<ReturnType<PackerClient['listAssets']>>> {
  const client = PackerClient.spawn({ serverCommand: SERVER_SCRIPT });
  try {
    await client.start();
    const status = await client.openProject({ rootUri: pathToFileURL(project).href });
    return await client.listAssets({ projectId: status.projectId });
  } finally {
    await client.stop();
  }
}

/** Every operation the page shows as ended has its terminal event or its response in the page's input. */
async function expectNothingInvented(page: Page): Promise<void> {
  const log = await pageLog(page);
  const shown = await page
    .locator('[data-testid="operation"]')
    .evaluateAll((items) =>
      items.map((item) => [item.getAttribute('data-operation-id'), item.getAttribute('data-status')] as const),
    );
  for (const [operationId, status] of shown) {
    if (status !== 'succeeded' && status !== 'failed' && status !== 'cancelled') continue;
    const evidence = log.some(
      (message) =>
        (message.type === 'event' &&
          message.event.operationId === operationId &&
          message.event.kind === `operation.${status}`) ||
        (message.type === 'response' && (message.result as { operationId?: string }).operationId === operationId),
    );
    expect(evidence, `${operationId} is shown ${status}`).toBe(true);
  }
}

describe('the packer panel in a browser', () => {
  it('lists every asset listAssets returns, with its type, registration, build and severity badges', async () => {
    const { project, page } = await world();
    const expected = await listAssets(project);
    const rows = await page.locator('[data-testid="navigator"] [data-root]').evaluateAll((items) =>
      items.map((item) => ({
        root: item.getAttribute('data-root'),
        name: item.getAttribute('data-name'),
        type: item.getAttribute('data-type'),
        registered: item.getAttribute('data-registered'),
        inBuild: item.getAttribute('data-in-build'),
        severity: item.getAttribute('data-severity'),
      })),
    );
    const byRoot = (a: { root: string | null }, b: { root: string | null }): number =>
      (a.root ?? '') < (b.root ?? '') ? -1 : 1;
    expect(rows.sort(byRoot)).toEqual(
      expected.assets
        .map((asset) => ({
          root: asset.root,
          name: asset.name ?? '',
          type: asset.type ?? '',
          registered: String(asset.registered),
          inBuild: String(asset.includedInBuild),
          severity: asset.worstSeverity ?? 'none',
        }))
        .sort(byRoot),
    );
    expect(await page.locator('#navigator h2').textContent()).toContain(`(${expected.assets.length})`);
    // A second tab with the token is just another client, with a server of its own.
    const second = await page.context().newPage();
    await second.goto(page.url());
    await second.locator('#connection[data-state="connected"]').waitFor({ timeout: STEP_MS });
    await second.locator('[data-testid="navigator"] [data-root]').first().waitFor({ timeout: STEP_MS });
    expect(await second.locator('[data-testid="navigator"] [data-root]').count()).toBe(expected.assets.length);
    await second.close();
    await page.locator('[data-root="characters/hero"]').click();
    await page.locator('[data-testid="details"][data-root="characters/hero"]').waitFor({ timeout: STEP_MS });
    await screenshot(page, 'navigator');
  }, 90_000);

  it('renames through a preview card applied with its preview id, and the list shows the new name', async () => {
    const { page } = await world();
    await page.locator('[data-root="characters/hero"]').click();
    await page.locator('#rename-name').fill('Hero Renamed');
    await page.locator('[data-testid="preview-rename"]').click();
    const card = page.locator('[data-testid="preview-card"][data-kind="rename"]');
    await card.waitFor({ timeout: STEP_MS });
    expect(await card.getAttribute('data-status')).toBe('open');
    expect(await card.textContent()).toContain('modify file characters/hero/asset.json');
    await screenshot(page, 'preview');
    const previewId = await card.getAttribute('data-preview-id');
    await card.locator('[data-testid="apply"]').click();
    await page
      .locator(`[data-testid="preview-card"][data-preview-id="${previewId}"][data-status="applied"]`)
      .waitFor({ timeout: STEP_MS });
    await page
      .locator('[data-testid="navigator"] [data-root="characters/hero"][data-name="Hero Renamed"]')
      .waitFor({ timeout: STEP_MS });
    const applies = (await pageLog(page)).filter(
      (message) => message.type === 'request' && message.method === 'applyMutation',
    );
    expect(applies.map((message) => message.params)).toEqual([
      expect.objectContaining({ previewId, operationId: expect.any(String) }),
    ]);
    expect(applies[0]!.params).not.toHaveProperty('mutation');
    expect(applies[0]!.params).not.toHaveProperty('consent');
    await expectNothingInvented(page);
  }, 90_000);

  it('asks for consent before a remove and sends nothing without it', async () => {
    const { project, page } = await world();
    await page.locator('[data-root="data/credits"]').click();
    await page.locator('[data-testid="preview-remove"]').click();
    const card = page.locator('[data-testid="preview-card"][data-kind="remove"]');
    await card.waitFor({ timeout: STEP_MS });
    expect(await card.textContent()).toContain('needs consent');
    const applies = async (): Promise<number> =>
      (await pageLog(page)).filter((message) => message.type === 'request' && message.method === 'applyMutation')
        .length;
    // Apply opens the question in the page; cancelling it sends nothing.
    await card.locator('[data-testid="apply"]').click();
    await card.locator('[data-testid="consent"]').waitFor({ timeout: STEP_MS });
    await screenshot(page, 'consent');
    await card.locator('[data-testid="cancel-consent"]').click();
    expect(await card.locator('[data-testid="consent"]').count()).toBe(0);
    // Confirming without ticking the box sends nothing either.
    await card.locator('[data-testid="apply"]').click();
    await card.locator('[data-testid="apply-with-consent"]').click();
    expect(await applies()).toBe(0);
    expect(await card.getAttribute('data-status')).toBe('open');
    expect(existsSync(join(project, 'assets/data/credits/asset.json'))).toBe(true);
    // With consent given, the apply carries `consent: true` and the asset goes.
    await card.locator('[data-testid="consent-checkbox"]').check();
    await card.locator('[data-testid="apply-with-consent"]').click();
    await page.locator('[data-testid="preview-card"][data-kind="remove"][data-status="applied"]').waitFor({
      timeout: STEP_MS,
    });
    const sent = (await pageLog(page)).filter(
      (message) => message.type === 'request' && message.method === 'applyMutation',
    );
    expect(sent).toHaveLength(1);
    expect(sent[0]!.params).toMatchObject({ consent: true, previewId: await card.getAttribute('data-preview-id') });
    await page
      .locator('[data-testid="navigator"] [data-root="data/credits"]')
      .waitFor({ state: 'detached', timeout: STEP_MS });
    expect(existsSync(join(project, 'assets/data/credits'))).toBe(false);
    await expectNothingInvented(page);
  }, 90_000);

  it('shows a pack with its progress, then its outcome and artifacts from its terminal event', async () => {
    const { page } = await world();
    await page.locator('[data-testid="pack-button"]').click();
    const operation = page.locator('[data-testid="pack-operation"][data-status="succeeded"]');
    await operation.waitFor({ timeout: STEP_MS });
    const log = await pageLog(page);
    const request = log.find((message) => message.type === 'request' && message.method === 'pack');
    const operationId = (request?.params as { operationId: string }).operationId;
    const events = log.flatMap((message) =>
      message.type === 'event' && message.event.operationId === operationId ? [message.event] : [],
    );
    const progress = events.filter((event) => event.kind === 'operation.progress');
    const terminal = events.find((event) => event.kind === 'operation.succeeded');
    expect(progress.length).toBeGreaterThan(0);
    expect(terminal).toBeDefined();
    const item = page.locator(`[data-testid="operation"][data-operation-id="${operationId}"]`);
    expect(await item.textContent()).toContain(`event ${terminal!.sequence} operation.succeeded`);
    const newest = progress.at(-1)!;
    expect(newest.kind === 'operation.progress' && (await item.locator('[data-testid="progress"]').textContent())).toBe(
      newest.kind === 'operation.progress'
        ? `${newest.body.done}/${newest.body.total} ${newest.body.unit}: ${newest.body.message}`
        : '',
    );
    const artifacts =
      terminal!.kind === 'operation.succeeded' ? (terminal!.body.outcome['artifacts'] as { path: string }[]) : [];
    expect(await page.locator('[data-testid="artifacts"] tr').count()).toBe(artifacts.length);
    expect(artifacts.length).toBeGreaterThan(0);
    await screenshot(page, 'pack');
    await expectNothingInvented(page);
  }, 90_000);

  it('keeps the focus and what is typed in the rename field when an event redraws the details', async () => {
    const { project, page } = await world();
    await page.locator('[data-testid="watching"][data-state="watching"]').waitFor({ timeout: STEP_MS });
    await page.locator('[data-root="characters/hero"]').click();
    await page.locator('[data-testid="details"][data-root="characters/hero"]').waitFor({ timeout: STEP_MS });
    const field = page.locator('#rename-name');
    await field.click();
    await field.press('ControlOrMeta+a');
    await page.keyboard.type('Hero');
    // Mark the field, then make the server say something that redraws the details: an edit behind its back.
    await field.evaluate((element) => (element.dataset['drawn'] = 'before'));
    writeFileSync(join(project, 'assets/data/credits/credits.txt'), 'Edited while someone types\n');
    await page
      .locator('[data-testid="navigator"] [data-root="data/credits"][data-diverged="true"]')
      .waitFor({ timeout: STEP_MS });
    await expect
      .poll(() => field.evaluate((element) => element.dataset['drawn'] ?? null), { timeout: STEP_MS })
      .toBeNull();
    await page.keyboard.type(' Again');
    expect(await field.inputValue()).toBe('Hero Again');
    expect(await field.evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
  }, 90_000);

  it('brings the divergence banner on an external edit once watching, and reconcile clears it', async () => {
    const { project, page } = await world();
    await page.locator('[data-testid="watching"][data-state="watching"]').waitFor({ timeout: STEP_MS });
    writeFileSync(join(project, 'assets/data/credits/credits.txt'), 'Edited behind the packer\n');
    const banner = page.locator('[data-testid="divergence-banner"]');
    await banner.waitFor({ timeout: STEP_MS });
    expect(await banner.textContent()).toContain('data/credits/credits.txt');
    await page
      .locator('[data-testid="navigator"] [data-root="data/credits"][data-diverged="true"]')
      .waitFor({ timeout: STEP_MS });
    await screenshot(page, 'divergence');
    await banner.locator('[data-testid="reconcile"]').click();
    await banner.waitFor({ state: 'detached', timeout: STEP_MS });
    await page.locator('[data-testid="operation"][data-operation="reconcile"][data-status="succeeded"]').waitFor({
      timeout: STEP_MS,
    });
    expect(
      await page.locator('[data-testid="navigator"] [data-root="data/credits"]').getAttribute('data-diverged'),
    ).toBe('false');
    await expectNothingInvented(page);
  }, 90_000);

  it('shows disconnected when the server is killed, then reconnects without losing or inventing events', async () => {
    const { relay, page } = await world();
    await page.locator('[data-testid="pack-button"]').click();
    await page.locator('[data-testid="pack-operation"][data-status="succeeded"]').waitFor({ timeout: STEP_MS });
    const before = await page
      .locator('[data-testid="operation"]')
      .evaluateAll((items) =>
        items.map((item) => [item.getAttribute('data-operation-id'), item.getAttribute('data-status')]),
      );
    const firstEpoch = (await pageLog(page)).find((message) => message.type === 'event')?.event.epoch;
    expect(firstEpoch).toBeDefined();
    const [pid] = relay.serverPids();
    process.kill(pid!, 'SIGKILL');
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { packerLog: { type: string; state?: string }[] }).packerLog.some(
          (message) => message.type === 'connection' && message.state === 'disconnected',
        ),
      undefined,
      { timeout: STEP_MS },
    );
    // The new server has a new epoch: the page resynchronises rather than replaying sequences that mean nothing now.
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { packerLog: { type: string }[] }).packerLog.some(
          (message) => message.type === 'resync',
        ),
      undefined,
      { timeout: STEP_MS },
    );
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: STEP_MS });
    const log = await pageLog(page);
    const states = log.flatMap((message) => (message.type === 'connection' ? [message.state] : []));
    expect(states.indexOf('disconnected')).toBeGreaterThan(states.indexOf('connected'));
    expect(states.lastIndexOf('connected')).toBeGreaterThan(states.indexOf('disconnected'));
    expect(log.some((message) => message.type === 'resync' && message.reason === 'epochChanged')).toBe(true);
    expect(log.some((message) => message.type === 'event' && message.event.epoch !== firstEpoch)).toBe(true);
    // What the first server said is still shown as it said it; nothing new was concluded about it.
    const after = await page
      .locator('[data-testid="operation"]')
      .evaluateAll((items) =>
        items.map((item) => [item.getAttribute('data-operation-id'), item.getAttribute('data-status')]),
      );
    for (const entry of before) expect(after).toContainEqual(entry);
    await expectNothingInvented(page);
    // The new server works: a pack through it succeeds.
    await page.locator('[data-testid="pack-button"]').click();
    await page.waitForFunction(
      () =>
        (
          globalThis as unknown as { document: { querySelectorAll(selector: string): { length: number } } }
        ).document.querySelectorAll('[data-testid="operation"][data-operation="pack"][data-status="succeeded"]')
          .length >= 2,
      undefined,
      { timeout: STEP_MS },
    );
    await expectNothingInvented(page);
  }, 90_000);

  it('shows a pack whose server died mid-flight as unknown, never ended, and after the reconnect only what the new server says', async () => {
    const { project, dir, page } = await world({
      serverArgs: (folder) => [HOLD_AT_PROGRESS, SERVER_SCRIPT, folder],
    });
    // Every state the page renders is recorded, not only the last one.
    await page.evaluate(() => {
      interface Item {
        getAttribute(name: string): string | null;
      }
      const scope = globalThis as unknown as {
        shown: string[];
        document: {
          body: unknown;
          querySelector(selector: string): Item | null;
          querySelectorAll(selector: string): ArrayLike<Item>;
        };
        MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void };
      };
      const seen: string[] = [];
      scope.shown = seen;
      const record = (): void => {
        const connection = scope.document.querySelector('#connection')?.getAttribute('data-state');
        if (connection) seen.push(`connection:${connection}`);
        for (const item of Array.from(scope.document.querySelectorAll('[data-testid="operation"]')))
          seen.push(`operation:${item.getAttribute('data-operation-id')}:${item.getAttribute('data-status')}`);
      };
      record();
      new scope.MutationObserver(record).observe(scope.document.body, {
        subtree: true,
        childList: true,
        attributes: true,
      });
    });
    await page.locator('[data-testid="pack-button"]').click();
    // The server is held right after the pack's first progress: the page shows it running, with that progress.
    const running = page.locator('[data-testid="pack-operation"][data-status="running"]');
    await running.waitFor({ timeout: STEP_MS });
    const log = await pageLog(page);
    const operationId = (
      log.find((message) => message.type === 'request' && message.method === 'pack')?.params as { operationId: string }
    ).operationId;
    await page
      .locator(`[data-testid="operation"][data-operation-id="${operationId}"] [data-testid="progress"]`)
      .waitFor({ timeout: STEP_MS });
    const held = Number(readFileSync(join(dir, 'held'), 'utf8'));
    cleanups.push(() => {
      try {
        process.kill(held, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    });
    process.kill(held, 'SIGKILL');

    // Disconnected, then a new server (a new epoch): the page reads everything again.
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { packerLog: { type: string }[] }).packerLog.some(
          (message) => message.type === 'resync',
        ),
      undefined,
      { timeout: STEP_MS },
    );
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: STEP_MS });
    const item = page.locator(`[data-testid="operation"][data-operation-id="${operationId}"]`);
    await item.locator('text=the server restarted before its outcome arrived').waitFor({ timeout: STEP_MS });
    expect(await item.getAttribute('data-status')).toBe('unknown');
    expect(await item.locator('[data-testid="outcome"]').count()).toBe(0);
    expect(await page.locator('[data-testid="pack-operation"]').getAttribute('data-status')).toBe('unknown');

    // What the page showed on the way: disconnected, the pack unknown, and never ended.
    const shown = (await page.evaluate(() => (globalThis as unknown as { shown: string[] }).shown)) as string[];
    expect(shown).toContain('connection:disconnected');
    expect(shown).toContain(`operation:${operationId}:running`);
    expect(shown).toContain(`operation:${operationId}:unknown`);
    for (const status of ['succeeded', 'failed', 'cancelled'])
      expect(shown).not.toContain(`operation:${operationId}:${status}`);
    const after = await pageLog(page);
    expect(
      after.some(
        (message) =>
          (message.type === 'event' &&
            message.event.operationId === operationId &&
            ['operation.succeeded', 'operation.failed', 'operation.cancelled'].includes(message.event.kind)) ||
          (message.type === 'response' && (message.result as { operationId?: string }).operationId === operationId),
      ),
    ).toBe(false);
    await expectNothingInvented(page);

    // After the reconnect the views settle on the new server's answers: the navigator shows what its
    // listAssets says, the header the revision of its newest status (read in the page, in one turn).
    const expected = await listAssets(project);
    const truth = expected.assets.map((asset) => `${asset.root}=${asset.name ?? ''}`).sort();
    await page.waitForFunction(
      (rows: string[]) => {
        const scope = globalThis as unknown as {
          packerLog: { type: string; state?: string; method?: string; result?: { revision: number } }[];
          document: {
            querySelector(selector: string): { textContent: string | null } | null;
            querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }>;
          };
        };
        const log = scope.packerLog;
        const lostAt = log.findIndex((message) => message.type === 'connection' && message.state === 'disconnected');
        const status = log
          .slice(lostAt)
          .findLast((message) => message.type === 'response' && message.method === 'projectStatus');
        const shown = Array.from(scope.document.querySelectorAll('[data-testid="navigator"] [data-root]'))
          .map((item) => `${item.getAttribute('data-root')}=${item.getAttribute('data-name')}`)
          .sort();
        return (
          status !== undefined &&
          (scope.document.querySelector('#header')?.textContent ?? '').includes(
            `revision ${status.result!.revision}`,
          ) &&
          shown.join('|') === rows.join('|')
        );
      },
      truth,
      { timeout: STEP_MS },
    );
    expect(await page.locator('[data-testid="pack-operation"]').getAttribute('data-status')).toBe('unknown');
  }, 90_000);
});
