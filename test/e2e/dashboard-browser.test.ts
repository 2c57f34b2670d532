// The dashboard in a real browser: Debian's Chromium driven headless by playwright-core opens the
// page while a client sends traffic, sees the request rate of the right location go above zero,
// an upstream on a closed port shown as down, a reload triggered from the page listed, and saves
// docs/dashboard.png (light) and docs/dashboard-dark.png when DITO_UPDATE_SCREENSHOTS=1 (a temp
// folder otherwise). Without Chromium it skips, saying why.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { adminBlock, adminUrl } from '../helpers/admin.js';
import { baseConfig, type DitoProcess, REPO_ROOT, startDito } from '../helpers/dito.js';
import { freePort, sleep, waitFor } from '../helpers/net.js';
import { makePluginsFixture, type PluginsFixture } from '../helpers/plugins.js';
import { echoHandler, startUpstream, type Upstream } from '../helpers/upstream.js';

/** Flags for a headless browser in a container: no sandbox (root), no GPU, nothing phoned home. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Where the screenshots go: a temp folder, so a test run leaves the work tree clean;
 * `DITO_UPDATE_SCREENSHOTS=1` writes them into docs/ (how the committed ones are made).
 */
const screenshotDir =
  process.env.DITO_UPDATE_SCREENSHOTS === '1'
    ? join(REPO_ROOT, 'docs')
    : mkdtempSync(join(tmpdir(), 'dito-shots-'));

/** Traffic runs this long before the screenshots, so the charts show a shape. */
const SCREENSHOT_AFTER_MS = 16_000;

type Playwright = typeof import('playwright-core');

/** The Chromium executable, installed if possible; or the reason there is none. */
function findChromium(): { path: string } | { reason: string } {
  try {
    const path = execFileSync('bash', [join(REPO_ROOT, 'scripts', 'ensure-chromium.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    }).trim();
    return { path };
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    return { reason: stderr || (err as Error).message };
  }
}

async function loadPlaywright(): Promise<Playwright | string> {
  try {
    return await import('playwright-core');
  } catch (err) {
    return `playwright-core is not installed (npm ci): ${(err as Error).message}`;
  }
}

describe('dashboard in a browser', () => {
  let upstream: Upstream;
  let dito: DitoProcess;
  let traffic = true;
  let sending: Promise<void> | undefined;
  let trafficStartedAt = 0;
  let plugins: PluginsFixture;
  let chromium: ReturnType<typeof findChromium>;

  before(async () => {
    // First, before any traffic: installing Chromium (apt-get) may take a while.
    chromium = findChromium();
    // Latency with a spread (1–25 ms), so p50 and p99 are two lines on the chart.
    upstream = await startUpstream((req, res, seen) => {
      setTimeout(() => echoHandler(req, res, seen), 1 + Math.random() * (Math.random() < 0.9 ? 8 : 24));
    });
    const closed = await freePort();
    plugins = await makePluginsFixture([{ name: 'hello-plugin' }]);
    dito = await startDito(
      baseConfig(
        [
          {
            path: '^/api/',
            target_url: upstream.url,
            middlewares: ['hello-plugin', 'rate-limiter'],
            rate_limiting: { enabled: true, requests_per_second: 40, burst: 10 },
          },
          { path: '^/static/', target_url: upstream.url },
          { path: '^/billing/', target_url: `http://127.0.0.1:${closed}` },
        ],
        { ...adminBlock(), ...(parse(plugins.yaml) as object), metrics: { enabled: true } },
      ),
    );
    // A steady keep-alive client (fetch): about 30 requests a second, most to /api/, some to
    // /static/ and to the dead upstream; a burst now and then trips the rate limiter.
    trafficStartedAt = Date.now();
    sending = (async () => {
      let i = 0;
      while (traffic) {
        i++;
        const path =
          i % 10 === 0 ? `/billing/invoice/${i}` : i % 4 === 0 ? '/static/app.js' : `/api/items/${i}`;
        const burst = i % 150 === 1 ? 15 : 1;
        const sends = Array.from({ length: burst }, () =>
          fetch(`${dito.url}${path}`).then(
            (reply) => reply.arrayBuffer(),
            () => undefined,
          ),
        );
        await Promise.all([...sends, sleep(30)]);
      }
    })();
  });

  after(async () => {
    traffic = false;
    await sending;
    await dito?.stop();
    await upstream?.close();
    await plugins?.cleanup();
  });

  test('live charts, a down upstream, a reload from the page; screenshots saved', async (t) => {
    if ('reason' in chromium) {
      process.stderr.write(`SKIPPED dashboard browser test: Chromium unavailable: ${chromium.reason}\n`);
      t.skip(`Chromium unavailable: ${chromium.reason}`);
      return;
    }
    const playwright = await loadPlaywright();
    if (typeof playwright === 'string') {
      process.stderr.write(`SKIPPED dashboard browser test: ${playwright}\n`);
      t.skip(playwright);
      return;
    }
    const browser = await playwright.chromium.launch({
      executablePath: chromium.path,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 20_000,
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('request', (req) => {
        if (!req.url().startsWith(adminUrl(dito)))
          problems.push(`request outside the listener: ${req.url()}`);
      });
      await page.goto(`${adminUrl(dito)}/`);

      // The charts show a non-zero request rate for ^/api/ (and the number beside them agrees).
      const api = page.locator('[data-location="^/api/"]');
      // Polled from here: a predicate evaluated in the page would be refused by the page's own
      // Content-Security-Policy (no eval), which is as it should be.
      const rate = api.locator('[data-metric=rps]');
      await waitFor(async () => Number(await rate.textContent()) > 0, 10_000, 100);
      const line = await api.locator('svg[data-chart=rps] path[fill=none]').getAttribute('d');
      assert.match(line ?? '', /^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+)+/, 'the request-rate chart has a line');
      const other = await page.locator('[data-location="^/billing/"] [data-metric=errors]').textContent();
      assert.ok(other !== null);

      // The location whose upstream is a closed port is shown as down.
      const down = page.locator('tr[data-upstream="^/billing/"]');
      await down.locator('.badge.down').waitFor({ timeout: 5000 });
      assert.equal(await down.getAttribute('data-state'), 'down');
      assert.equal(await down.locator('.badge').textContent(), 'DOWN');
      assert.equal(await page.locator('tr[data-upstream="^/api/"]').getAttribute('data-state'), 'up');

      // A reload from the page is listed.
      await page.click('#reload');
      await page
        .locator('#reloads tr[data-reason="admin API"][data-ok=true]')
        .first()
        .waitFor({ timeout: 5000 });
      assert.match((await page.locator('#toast').textContent()) ?? '', /Config reloaded/);

      // Enough seconds of traffic for the charts to have a shape, then the screenshots.
      await sleep(Math.max(0, trafficStartedAt + SCREENSHOT_AFTER_MS - Date.now()));
      await page.screenshot({ path: join(screenshotDir, 'dashboard.png'), fullPage: true });
      await page.click('#theme');
      assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
      await page.screenshot({ path: join(screenshotDir, 'dashboard-dark.png'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
