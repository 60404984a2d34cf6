/**
 * The web dashboard in a real browser against real processes: headless Chromium (Debian's, never
 * a downloaded one) driven by playwright-core. It appends through the form (after the page asks
 * for the API token), partitions a secondary with its button (after the page asks for the
 * cluster token), watches the secondary turn Suspected then Unhealthy and fall behind, heals it
 * and watches it catch up. Screenshots go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { annotated, Cluster } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const TOKEN = 'dashboard-e2e-token';
const API_TOKEN = 'dashboard-e2e-api-token';
/** Long enough for Suspected to last a few dashboard updates before Unhealthy. */
const HEARTBEAT_INTERVAL_MS = 500;
const WAIT_MS = 10_000;

/** The card of one node. */
function card(page: Page, name: string): Locator {
  return page.locator('article.node', {
    has: page.getByRole('heading', { name, exact: true, level: 3 }),
  });
}

/** The lag shown on a secondary's card. */
function lag(node: Locator): Locator {
  return node.locator('dt:text-is("Lag") + dd');
}

/** Waits until the locator's text is exactly `text`. */
async function textIs(locator: Locator, text: string, what: string): Promise<void> {
  const exactly = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  try {
    await locator.filter({ hasText: exactly }).waitFor({ timeout: WAIT_MS });
  } catch (error) {
    const actual = await locator.textContent({ timeout: 1000 }).catch(() => '(none)');
    throw new Error(`${what}: wanted "${text}", shows "${actual ?? ''}"`, { cause: error });
  }
}

/**
 * The log table as texts: one array per row (newest first), one text per node. Evaluated in the
 * page as an expression: this program is compiled without the DOM's types.
 */
async function columns(page: Page): Promise<string[][]> {
  return page.evaluate<string[][]>(
    `Array.from(document.querySelectorAll('#log-body tr[data-id]'), (row) =>
      Array.from(row.querySelectorAll('td'), (cell) => cell.textContent ?? ''))`,
  );
}

async function waitForColumns(
  page: Page,
  check: (rows: string[][]) => boolean,
  what: string,
): Promise<string[][]> {
  const deadline = Date.now() + WAIT_MS;
  let rows = await columns(page);
  while (!check(rows)) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; table: ${JSON.stringify(rows)}`);
    }
    await page.waitForTimeout(50);
    rows = await columns(page);
  }
  return rows;
}

async function append(page: Page, message: string, w: string): Promise<void> {
  await page.getByLabel('Write concern').selectOption(w);
  await page.getByLabel('Message', { exact: true }).fill(message);
  await page.getByRole('button', { name: 'Append' }).click();
}

test(
  'dashboard: live nodes, append, partition and heal in a real browser',
  { timeout: 60_000 },
  async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium)`,
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    const cluster = await Cluster.start({
      token: TOKEN,
      secondaryEnv: { FAULT_INJECTION: 'true' },
      masterEnv: { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS), API_TOKEN },
    });
    let browser: Browser | undefined;
    try {
      await annotated(cluster, async () => {
        browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        const pageErrors: string[] = [];
        page.on('pageerror', (error) => pageErrors.push(error.message));
        page.on('console', (message) => {
          if (message.type() === 'error') pageErrors.push(message.text());
        });
        // Each token goes with its own requests only: the API token with appends, the cluster
        // token with the fault buttons.
        const authorized: string[] = [];
        page.on('request', (request) => {
          const authorization = request.headers()['authorization'];
          if (authorization !== undefined)
            authorized.push(
              `${request.method()} ${new URL(request.url()).pathname} ${authorization}`,
            );
        });

        // The page, live, with three nodes.
        await page.goto(`${cluster.master.url}/`);
        await textIs(page.locator('#connection'), 'Live', 'connection');
        for (const name of ['master', 'sub1', 'sub2']) {
          await card(page, name).waitFor({ timeout: WAIT_MS });
        }
        assert.equal(await page.locator('article.node').count(), 3);
        await textIs(card(page, 'sub2').locator('.badge'), 'Healthy', 'sub2 at start');

        // The master runs with API_TOKEN: the page says so before any append, and a first append
        // without it is refused; the page then asks for the token.
        const apiTokenField = page.getByRole('textbox', { name: 'API token' });
        await apiTokenField.waitFor({ timeout: WAIT_MS });
        await append(page, 'hello from the browser', 'all');
        await page
          .locator('.request.failed', { hasText: 'Refused: this needs the API token' })
          .waitFor({ timeout: WAIT_MS });
        await page
          .locator('#api-token-status', { hasText: 'asks for the API token' })
          .waitFor({ timeout: WAIT_MS });
        assert.equal(await page.evaluate('document.activeElement?.id'), 'api-token');
        await apiTokenField.fill(API_TOKEN);

        // An append with w=all: answered with acks 3, and in every node's column.
        await append(page, 'hello from the browser', 'all');
        await page
          .locator('.request.ok', { hasText: 'id 1, held by 3 nodes (w=3)' })
          .waitFor({ timeout: WAIT_MS });
        await waitForColumns(
          page,
          (rows) => rows[0]?.every((text) => text === 'hello from the browser') === true,
          'entry 1 in all three columns',
        );
        assert.equal(await page.evaluate("sessionStorage.getItem('rlog.apiToken')"), API_TOKEN);

        // Partition sub2 with its button: first the page asks for the token, then it works.
        const sub2 = card(page, 'sub2');
        await sub2.getByRole('button', { name: 'Partition sub2' }).click();
        await page
          .locator('#token-status', { hasText: 'asks for the cluster token' })
          .waitFor({ timeout: WAIT_MS });
        assert.equal(await page.evaluate('document.activeElement?.id'), 'token');
        await page.getByRole('textbox', { name: 'Cluster token' }).fill(TOKEN);
        await sub2.getByRole('button', { name: 'Partition sub2' }).click();
        await sub2
          .locator('.fault-summary', { hasText: 'partitioned' })
          .waitFor({ timeout: WAIT_MS });
        await textIs(sub2.locator('.badge'), 'Suspected', 'sub2 after the partition');
        await textIs(sub2.locator('.badge'), 'Unhealthy', 'sub2 after more missed probes');
        assert.equal(
          await page.evaluate("sessionStorage.getItem('rlog.clusterToken')"),
          TOKEN,
          'the token is kept for the tab',
        );

        // Appends with w=1 go on; sub2 falls behind: its lag grows, its column misses them.
        for (const index of [2, 3, 4]) {
          await append(page, `while partitioned ${index}`, '1');
          await page
            .locator('.request.ok', { hasText: `id ${index}, held by` })
            .waitFor({ timeout: WAIT_MS });
        }
        await textIs(lag(sub2), '3 entries', 'sub2 lag');
        await waitForColumns(
          page,
          (rows) =>
            rows.length === 4 &&
            rows.slice(0, 3).every((row) => row[1] !== 'missing' && row[2] === 'missing'),
          'entries 2-4 held by sub1 and missing on sub2',
        );
        // A w=all append now waits for sub2, and the page shows it waiting.
        await append(page, 'waits for sub2', 'all');
        await page
          .locator('.request.waiting', { hasText: /waiting for w=3… [0-9.]+ s/ })
          .waitFor({ timeout: WAIT_MS });
        await textIs(lag(sub2), '4 entries', 'sub2 lag with the waiting append');
        await waitForColumns(
          page,
          (rows) => rows[0]?.[1] === 'waits for sub2' && rows[0][2] === 'missing',
          'entry 5 on sub1, missing on sub2',
        );
        // Once the highlight of new rows has faded, and with a few seconds of waiting shown.
        await page.waitForTimeout(1600);
        await page.screenshot({ path: join(ARTIFACTS, 'dashboard-partitioned.png') });

        // Heal: sub2 catches up, the waiting append is answered, every column is the same.
        await sub2.getByRole('button', { name: 'Heal sub2' }).click();
        await page
          .locator('.request.ok', { hasText: 'id 5, held by 3 nodes (w=3)' })
          .waitFor({ timeout: WAIT_MS });
        await textIs(sub2.locator('.badge'), 'Healthy', 'sub2 after healing');
        await textIs(lag(sub2), '0 entries', 'sub2 lag after healing');
        const rows = await waitForColumns(
          page,
          (table) =>
            table.length === 5 && table.every((row) => row.every((text) => text === row[0])),
          'every column holding entries 1-5',
        );
        assert.deepEqual(
          rows.map((row) => row[0]),
          [
            'waits for sub2',
            'while partitioned 4',
            'while partitioned 3',
            'while partitioned 2',
            'hello from the browser',
          ],
        );
        await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });
        // The browser logs the two refused requests (401, before each token was entered) itself.
        const unexpected = pageErrors.filter((text) => !text.includes('status of 401'));
        assert.deepEqual(unexpected, [], 'no script or policy errors on the page');
        const sent = new Set(authorized);
        assert.deepEqual(
          [...sent].sort(),
          [
            `POST /logs Bearer ${API_TOKEN}`,
            `PUT /admin/secondaries/sub2/faults Bearer ${TOKEN}`,
          ].sort(),
          'each token with its own requests only',
        );
      });
    } finally {
      await browser?.close();
      await cluster.stop();
    }
  },
);
