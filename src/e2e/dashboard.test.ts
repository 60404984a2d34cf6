/**
 * The web dashboard in a real browser against real processes: headless Chromium (Debian's, never
 * a downloaded one) driven by playwright-core. The first test appends through the form (after the
 * page asks for the API token), partitions a secondary with its button (after the page asks for
 * the cluster token), watches the secondary turn Suspected then Unhealthy and fall behind, heals
 * it and watches it catch up; its screenshots go to test-artifacts/. The second, on a cluster
 * without tokens, checks the pictures (the space-time diagram, the charts) against what it made
 * the cluster do, and the page at phone width; its screenshots are checked in memory and written
 * to docs/ only with UPDATE_SCREENSHOTS=1 (they are the README's pictures). The third runs three
 * failover nodes: the page of a secondary shows the master and the epoch, kills the master with
 * its button, and shows the new master in a higher epoch.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { LocalCluster } from '../launcher/cluster.js';
import { annotated, Cluster, request } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const TOKEN = 'dashboard-e2e-token';
const API_TOKEN = 'dashboard-e2e-api-token';
/**
 * Long enough for Suspected to last many dashboard updates (its hub polls every 300 ms) before
 * Unhealthy: Suspected after 2 missed probes, Unhealthy after UNHEALTHY_AFTER_MISSES, so 3 s of
 * Suspected rather than the default's 1 s, which a busy machine (the nodes, Chromium and this
 * process on 2 cores) could let pass unseen.
 */
const HEARTBEAT_INTERVAL_MS = 500;
const UNHEALTHY_AFTER_MISSES = 8;
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
      masterEnv: {
        HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
        UNHEALTHY_AFTER_MISSES: String(UNHEALTHY_AFTER_MISSES),
        API_TOKEN,
      },
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

        // The cluster runs with CLUSTER_TOKEN: the page shows its field before any fault button.
        await page.getByRole('textbox', { name: 'Cluster token' }).waitFor({ timeout: WAIT_MS });

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

const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PHONE_WIDTH_PX = 420;
/** sub2's delay in the second test: well under its REPLICATION_TIMEOUT_MS (3000). */
const SLOW_MS = 800;
/** How long sub1 takes to store a batch while its errors are shown: its lag lasts that long. */
const LAG_SHOWN_MS = 2000;

/** A screenshot checked to be a PNG of some weight; written to docs/ with UPDATE_SCREENSHOTS=1. */
function keepScreenshot(png: Buffer, name: string): void {
  assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), `${name} is a PNG`);
  assert.ok(png.length > 5000, `${name} shows something (${png.length} bytes)`);
  if (process.env['UPDATE_SCREENSHOTS'] === '1') writeFileSync(join(DOCS, name), png);
}

/** Sets a secondary's fault injection directly (the first test drives the page's buttons). */
async function setFaults(cluster: Cluster, name: string, change: object): Promise<void> {
  const answer = await request(`${cluster.node(name).url}/admin/faults`, {
    method: 'PUT',
    json: change,
  });
  assert.equal(answer.status, 200, `faults of ${name}: ${answer.text}`);
}

/** The tooltips of the diagram's shapes of one class (`arrow-send`, `mark-missed`...). */
async function diagramTitles(page: Page, className: string): Promise<string[]> {
  return page.evaluate<string[]>(
    `Array.from(document.querySelectorAll('#diagram .${className}'), (shape) =>
      shape.querySelector('title')?.textContent ?? '')`,
  );
}

async function waitForDiagram(
  page: Page,
  className: string,
  check: (titles: string[]) => boolean,
  what: string,
): Promise<string[]> {
  const deadline = Date.now() + WAIT_MS;
  let titles = await diagramTitles(page, className);
  while (!check(titles)) {
    if (Date.now() > deadline) {
      const all = await page.evaluate<string>(
        `Array.from(document.querySelectorAll('#diagram title'), (title) => title.textContent).join(' | ')`,
      );
      throw new Error(
        `timed out waiting for ${what}; .${className}: ${JSON.stringify(titles)}; the diagram: ${all}`,
      );
    }
    await page.waitForTimeout(100);
    titles = await diagramTitles(page, className);
  }
  return titles;
}

/** The largest value a chart's lines reach, as a share of its y axis (0: flat on zero). */
async function chartPeak(page: Page, id: string): Promise<number> {
  return page.evaluate<number>(
    `(() => {
      const svg = document.getElementById('${id}');
      const axis = svg.querySelector('.chart-axis');
      const top = svg.querySelector('.chart-grid');
      const bottom = Number(axis.getAttribute('y1'));
      const height = bottom - Number(top.getAttribute('y1'));
      const ys = Array.from(svg.querySelectorAll('polyline'), (line) =>
        line.getAttribute('points').split(' ').map((point) => Number(point.split(',')[1])),
      ).flat();
      return ys.length === 0 ? 0 : (bottom - Math.min(...ys)) / height;
    })()`,
  );
}

/** Waits until a chart's lines rise above zero (bounded by WAIT_MS). */
async function waitForChartAboveZero(page: Page, id: string, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while ((await chartPeak(page, id)) <= 0) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await page.waitForTimeout(100);
  }
}

/**
 * Waits for a batch on its way to `peer` that carries `ids` (`id 6`, `ids 5–7`) and has been on
 * its way for a time within `[fromS, toS]`, from its tooltip.
 */
async function waitForBatchOnItsWay(
  page: Page,
  peer: string,
  ids: string,
  [fromS, toS]: [number, number],
): Promise<void> {
  await waitForDiagram(
    page,
    'arrow-inflight',
    (titles) =>
      titles.some((title) => {
        const waitedS = Number(/on its way for ([0-9.]+) s/.exec(title)?.[1] ?? 'NaN');
        return (
          title.includes(` to ${peer},`) &&
          title.includes(`: ${ids})`) &&
          waitedS >= fromS &&
          waitedS <= toS
        );
      }),
    `a batch with ${ids} on its way to ${peer} for ${fromS}-${toS} s`,
  );
}

/** How long an acknowledgement's round trip took, from its tooltip. */
function roundTripS(title: string): number {
  return Number(/round trip ([0-9.]+) s/.exec(title)?.[1] ?? 'NaN');
}

test(
  'dashboard pictures: the space-time diagram and the charts show what the cluster did; phone width',
  { timeout: 90_000 },
  async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium)`,
      );
    }
    // Slower heartbeats and retries than the harness's, so that the diagram can be read.
    const cluster = await Cluster.start({
      secondaryEnv: { FAULT_INJECTION: 'true' },
      masterEnv: {
        HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
        RETRY_BASE_MS: '300',
        RETRY_MAX_MS: '600',
        REPLICATION_TIMEOUT_MS: '3000',
      },
    });
    let browser: Browser | undefined;
    try {
      await annotated(cluster, async () => {
        browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const pageErrors: string[] = [];
        page.on('pageerror', (error) => pageErrors.push(error.message));
        page.on('console', (message) => {
          if (message.type() === 'error') pageErrors.push(message.text());
        });
        await page.goto(`${cluster.master.url}/`);
        await textIs(page.locator('#connection'), 'Live', 'connection');
        await card(page, 'sub2').waitFor({ timeout: WAIT_MS });

        // No token in this cluster: neither token panel is shown.
        assert.equal(await page.locator('#token').isVisible(), false, 'no cluster token field');
        assert.equal(await page.locator('#api-token').isVisible(), false, 'no API token field');

        // Appends with w=3: each batch goes to both secondaries and each acknowledges it.
        for (const index of [1, 2, 3]) {
          await append(page, `picture ${index}`, 'all');
          await page
            .locator('.request.ok', { hasText: `id ${index}, held by 3 nodes` })
            .waitFor({ timeout: WAIT_MS });
        }
        for (const name of ['sub1', 'sub2']) {
          await waitForDiagram(
            page,
            'arrow-send',
            (titles) => titles.some((title) => title.startsWith(`batch to ${name}`)),
            `a batch sent to ${name}`,
          );
          await waitForDiagram(
            page,
            'arrow-ack',
            (titles) => titles.some((title) => title.startsWith(`${name} acknowledged`)),
            `an acknowledgement from ${name}`,
          );
        }
        await waitForDiagram(
          page,
          'append-ok',
          (titles) =>
            titles.filter((title) => title.startsWith('append, w=3: created')).length >= 3,
          'three w=3 appends on the master lane',
        );
        // The chart counts them.
        assert.ok((await chartPeak(page, 'chart-appends')) > 0, 'the appends chart rises above 0');

        // An injected error on sub1: the batch fails (✕) and is sent again (a retry arrow) until
        // the errors stop; a w=1 append does not wait for it. sub1 stores each batch only after
        // LAG_SHOWN_MS, so that its lag lasts that long: stored at once, the next heartbeat (500
        // ms) would report it held, and the chart, which reads the lag at most every 250 ms on
        // the master's events, could miss so short a lag on a busy machine.
        await setFaults(cluster, 'sub1', { errorRate: 1, delayMs: LAG_SHOWN_MS });
        await append(page, 'retried to sub1', '1');
        await page
          .locator('.request.ok', { hasText: 'id 4, held by' })
          .waitFor({ timeout: WAIT_MS });
        await waitForDiagram(
          page,
          'mark-failed',
          (titles) => titles.some((title) => title.startsWith('batch to sub1 failed')),
          'a failed batch to sub1',
        );
        await waitForDiagram(
          page,
          'arrow-retry',
          (titles) => titles.some((title) => title.startsWith('retry: batch sent again to sub1')),
          'a retry to sub1',
        );
        // sub1 is behind for LAG_SHOWN_MS after each batch and its retries; the errors go on
        // until the chart has shown it, however the lag's readings fall.
        await waitForChartAboveZero(page, 'chart-lag', 'the lag chart shows sub1 behind');
        await setFaults(cluster, 'sub1', { errorRate: 0, delayMs: 0 });
        await textIs(lag(card(page, 'sub1')), '0 entries', 'sub1 caught up after the errors');

        // sub2 slowed down by 800 ms: a w=3 append waits for it, and the diagram shows why: its
        // bar ends with sub2's acknowledgement, well after sub1's.
        await setFaults(cluster, 'sub2', { delayMs: SLOW_MS });
        await append(page, 'waits for slow sub2', 'all');
        await page
          .locator('.request.ok', { hasText: 'id 5, held by 3 nodes (w=3)' })
          .waitFor({ timeout: WAIT_MS });
        const acks = await waitForDiagram(
          page,
          'arrow-ack',
          (titles) =>
            titles.some((title) => title.startsWith('sub2') && roundTripS(title) >= SLOW_MS / 1000),
          'a slow acknowledgement from sub2',
        );
        assert.ok(
          acks.some((title) => title.startsWith('sub1') && roundTripS(title) < SLOW_MS / 1000),
          `sub1 answers fast: ${JSON.stringify(acks)}`,
        );
        // The append's bar comes in the same state as sub2's acknowledgement or in the next one
        // (the master records the answer after the acknowledgement that released it).
        const waitedS = (title: string): number =>
          Number(/^append, w=3: created after ([0-9.]+) s$/.exec(title)?.[1] ?? 0);
        await waitForDiagram(
          page,
          'append-ok',
          (titles) => titles.some((title) => waitedS(title) >= SLOW_MS / 1000),
          'the w=3 append that waited for sub2',
        );

        // A partitioned sub2 misses heartbeats, and a w=3 append waits for it: the batch that
        // carries it is on its way to sub2 (a dashed arrow, its head at now) while the append
        // is still unanswered.
        await setFaults(cluster, 'sub2', { delayMs: 0, partitioned: true });
        await waitForDiagram(
          page,
          'mark-missed',
          (titles) => titles.some((title) => title.startsWith('heartbeat to sub2 missed')),
          'a missed heartbeat of sub2',
        );
        await append(page, 'waits for partitioned sub2', 'all');
        const waiting = page.locator('.request.waiting', { hasText: /waiting for w=3… / });
        await waiting.waitFor({ timeout: WAIT_MS });
        // Under way for long enough to be seen, not so long that it times out before the pictures.
        await waitForBatchOnItsWay(page, 'sub2', 'id 6', [0.8, 2]);
        assert.ok(
          await waiting.isVisible(),
          'the append still waits while its batch is on its way',
        );
        assert.equal(
          await page.locator('.request.ok', { hasText: 'id 6, held by' }).count(),
          0,
          'the append is not answered while its batch to sub2 is on its way',
        );

        // The pictures, as the README shows them.
        const diagram = page.locator('section.pictures', { has: page.locator('#diagram') });
        keepScreenshot(await diagram.screenshot(), 'dashboard-diagram.png');
        const charts = page.locator('section.pictures', { has: page.locator('#chart-lag') });
        keepScreenshot(await charts.screenshot(), 'dashboard-charts.png');

        // Phone width: nothing wider than the screen, log cells show their whole text.
        await page.setViewportSize({ width: PHONE_WIDTH_PX, height: 900 });
        await page.waitForTimeout(500);
        const widths = await page.evaluate<{ scroll: number; inner: number }>(
          '({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth })',
        );
        assert.ok(
          widths.scroll <= widths.inner,
          `no sideways scroll at ${PHONE_WIDTH_PX} px: ${JSON.stringify(widths)}`,
        );
        const cut = await page.evaluate<string[]>(
          `Array.from(document.querySelectorAll('#log-body td, .top h1, .top p'))
            .filter((cell) => cell.scrollWidth > cell.clientWidth + 1)
            .map((cell) => cell.textContent)`,
        );
        assert.deepEqual(cut, [], 'no text cut at phone width');
        const rows = await columns(page);
        assert.equal(rows[0]?.[0], 'waits for partitioned sub2', 'the newest entry in full');
        const diagramBox = await page.locator('#diagram').boundingBox();
        assert.ok(
          diagramBox !== null &&
            diagramBox.x >= 0 &&
            diagramBox.x + diagramBox.width <= PHONE_WIDTH_PX,
          `the diagram fits the screen: ${JSON.stringify(diagramBox)}`,
        );
        // The batch (or its retry, after a timeout) still on its way.
        await waitForBatchOnItsWay(page, 'sub2', 'id 6', [0.5, 2.5]);
        await page.locator('#diagram-heading').scrollIntoViewIfNeeded();
        keepScreenshot(await page.screenshot(), 'dashboard-phone.png');

        // Healed, sub2 answers: the append is answered, and the batch on its way becomes the
        // usual arrows (sent, acknowledged).
        await setFaults(cluster, 'sub2', { partitioned: false });
        await page
          .locator('.request.ok', { hasText: 'id 6, held by 3 nodes (w=3)' })
          .waitFor({ timeout: WAIT_MS });
        await waitForDiagram(
          page,
          'arrow-inflight',
          (titles) => !titles.some((title) => title.includes(' to sub2,')),
          'no batch on its way to sub2 after healing',
        );
        await waitForDiagram(
          page,
          'arrow-ack',
          (titles) => titles.some((title) => title.startsWith('sub2 acknowledged 1 entry: id 6 ')),
          'the batch with id 6 acknowledged by sub2',
        );
        await append(page, 'from a phone', 'all');
        await page
          .locator('.request.ok', { hasText: 'id 7, held by 3 nodes' })
          .waitFor({ timeout: WAIT_MS });
        assert.deepEqual(pageErrors, [], 'no script or policy errors on the page');
      });
    } finally {
      await browser?.close();
      await cluster.stop();
    }
  },
);

/**
 * The master and its epoch once every node agrees on them (a fresh cluster may hold an election
 * or two while its nodes start one after the other); `without` is a node killed on purpose.
 */
async function settledMaster(
  cluster: LocalCluster,
  without?: string,
): Promise<{ name: string; epoch: number }> {
  const deadline = Date.now() + 2 * WAIT_MS;
  let seen = '';
  for (;;) {
    const answers = await Promise.all(
      cluster.nodes
        .filter((node) => node.name !== without)
        .map(async (node) => {
          const health = await request<{
            role?: string;
            epoch?: number;
            master?: { name: string };
          }>(`${node.url}/health`, { timeoutMs: 1000 }).catch(() => undefined);
          return { name: node.name, ...health?.body };
        }),
    );
    const master = answers.find((answer) => answer.role === 'master');
    if (
      master?.epoch !== undefined &&
      answers.every(
        (answer) => answer.epoch === master.epoch && answer.master?.name === master.name,
      )
    )
      return { name: master.name, epoch: master.epoch };
    seen = JSON.stringify(answers);
    if (Date.now() > deadline) throw new Error(`the nodes agree on no master: ${seen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test(
  'dashboard with failover: the page of a secondary kills the master and shows the next one',
  { timeout: 60_000 },
  async () => {
    const exits: string[] = [];
    const cluster = await LocalCluster.launch({
      secondaries: 2,
      failover: true,
      onExit: (name, how) => exits.push(`${name}: ${how}`),
      dataDirs: { temporary: 'rlog-dashboard-failover-' },
      env: { FAULT_INJECTION: 'true', CLUSTER_TOKEN: TOKEN },
    });
    let browser: Browser | undefined;
    try {
      const master = await settledMaster(cluster);
      const secondary = cluster.nodes.find((node) => node.name !== master.name);
      assert.ok(secondary !== undefined);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));

      await page.goto(`${secondary.url}/`);
      await textIs(page.locator('#connection'), 'Live', 'connection');
      await textIs(
        page.locator('#banner'),
        `Master: ${master.name} · epoch ${master.epoch}`,
        'banner before the kill',
      );
      assert.equal(await page.locator('#cluster-nodes tr').count(), 3);
      await textIs(
        page.locator(`#cluster-nodes tr.is-master th`),
        master.name,
        'the master highlighted',
      );

      await page.getByRole('textbox', { name: 'Cluster token' }).fill(TOKEN);
      await page.getByRole('button', { name: `Kill ${master.name}` }).click();
      await page
        .locator(`#cluster-nodes tr[data-node="${master.name}"].unreachable`)
        .waitFor({ timeout: WAIT_MS });
      const banner = page.locator('#banner', { hasText: /^Master: \S+ · epoch \d+$/ });
      const deadline = Date.now() + 2 * WAIT_MS;
      let shown = '';
      for (;;) {
        shown = (await banner.textContent({ timeout: WAIT_MS }).catch(() => null)) ?? '';
        const [, name, epoch] = /^Master: (\S+) · epoch (\d+)$/.exec(shown) ?? [];
        if (name !== undefined && name !== master.name && Number(epoch) > master.epoch) break;
        if (Date.now() > deadline)
          throw new Error(`no new master on the page; the banner shows "${shown}"`);
        await page.waitForTimeout(100);
      }
      const elected = await settledMaster(cluster, master.name);
      assert.equal(shown, `Master: ${elected.name} · epoch ${elected.epoch}`);
      assert.ok((await page.locator('#elections li').count()) > 0, 'elections are listed');
      assert.deepEqual(pageErrors, [], 'no script or policy errors on the page');
    } catch (error) {
      const ended = `ended: ${exits.join(', ') || 'none'}`;
      throw new Error(`${String(error)}\n${ended}\n--- node output ---\n${cluster.dump()}`, {
        cause: error,
      });
    } finally {
      await browser?.close();
      await cluster.stop();
    }
  },
);
