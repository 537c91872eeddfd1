// Browser test of the collector's web UI: a real collector and a real agent on 127.0.0.1 with a
// temp data dir, Debian's Chromium driven by playwright-core. What an operator sees: a wrong
// password refused, the server online, live figures, the chart, the badge going offline.
//
// Run through ctest (web.ui, tests/web/run.sh) or: CORVID_BUILD_DIR=build node --test ui.test.mjs
// CORVID_KEEP_LOGS=1 keeps the temp dir (logs, screenshot) and prints its path.
// Every process started here is stopped by PID; every wait has a deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT, CHROMIUM, COLLECTOR, CSP, Child, api, cli, closeBrowser, openPage, waitUntil, withDeadline } from './harness.mjs';

const PASSWORD = 'admin-password-1';
const SERVER_NAME = 'web-ui-host';
const CPU_COLOR = [0x4c, 0x9a, 0xff]; // --cpu in style.css

// ---- the test ----------------------------------------------------------------------------------

test('web UI: login, server list, live metrics, chart, offline badge, logout', { timeout: 240000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM),
    `${CHROMIUM} is missing: the browser test needs Debian's chromium (run packaging/build-deps.sh)`);
  for (const bin of [COLLECTOR, AGENT])
    assert.ok(fs.existsSync(bin), `${bin} is missing: build it first (or set CORVID_BUILD_DIR)`);
  const { chromium } = await import('playwright-core');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corvid-web-'));
  const dataDir = path.join(tmp, 'data');
  const children = [];
  let server = null, browser = null, page = null, failed = true;
  // Playwright makes its Chromium profile under the temp dir, so removing that removes it too.
  const savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    cli(['user', 'add', 'admin', '--role', 'admin'], dataDir, `${PASSWORD}\n`);
    const added = JSON.parse(cli(['server', 'add', SERVER_NAME], dataDir));
    assert.ok(added.api_key && added.id, 'server add printed no id/api_key');

    const startCollector = async (port, name) => {
      const c = new Child(name, COLLECTOR, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`,
        '--log-level', 'debug'], path.join(tmp, `${name}.log`));
      children.push(c);
      const listening = await c.firstLine(15000);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(listening)?.[1];
      assert.ok(url, `unexpected first line: ${listening}`);
      return { c, url };
    };
    const { c: collector, url: base } = await startCollector(0, 'corvid-collector');

    children.push(new Child('corvid-agent', AGENT,
      ['--collector-url', `${base.replace('http', 'ws')}/api/v1/agents/ws`, '--interval', '1', '--log-level', 'debug',
        '--state-dir', path.join(tmp, 'agent-state')],
      path.join(tmp, 'agent.log'), { ...process.env, CORVID_API_KEY: added.api_key }));
    const agent = children.at(-1);

    // Static files over plain HTTP: no token needed, strict headers; the API still wants a token.
    const index = await api(base, 'GET', '/');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('content-security-policy'), CSP);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(index.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const js = await api(base, 'GET', '/assets/app.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal((await api(base, 'GET', '/assets/style.css')).headers.get('content-type'), 'text/css; charset=utf-8');
    const missing = await api(base, 'GET', '/assets/nope.js');
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.json?.error, 'string');
    assert.equal((await api(base, 'GET', '/assets/..%2fjwt.key')).status, 404);
    assert.equal((await api(base, 'POST', '/')).status, 405);
    assert.equal((await api(base, 'GET', '/api/v1/servers')).status, 401);

    // The agent is connected and has sent samples before the browser looks.
    const token = (await api(base, 'POST', '/api/v1/auth/login', { body: { username: 'admin', password: PASSWORD } })).json.access_token;
    await waitUntil(async () => {
      const r = await api(base, 'GET', '/api/v1/servers', { token });
      return r.json?.find((s) => s.id === added.id)?.online;
    }, 20000, 'the agent to connect');

    let consoleErrors, dialogs;
    ({ server, browser, page, consoleErrors, dialogs } = await openPage(chromium));

    const response = await page.goto(`${base}/`, { waitUntil: 'load', timeout: 15000 });
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['content-security-policy'], CSP);

    // A wrong password is refused with the collector's message.
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const loginError = page.locator('#login-error');
    await loginError.waitFor({ state: 'visible' });
    assert.equal((await loginError.textContent()).trim(), 'invalid credentials');
    assert.ok(await page.locator('#servers-view').isHidden(), 'the server list shows after a failed login');
    await page.screenshot({ path: path.join(tmp, 'login.png') });

    // The right one, submitted from the keyboard.
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.locator('#servers-view').waitFor({ state: 'visible' });
    const row = page.locator('#servers-table tbody tr', { hasText: SERVER_NAME });
    await row.waitFor({ state: 'visible' });
    await waitUntil(async () => (await row.locator('.badge').textContent()) === 'online', 25000, 'the server to show online');
    assert.match(await row.textContent(), new RegExp(os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await page.screenshot({ path: path.join(tmp, 'servers.png') });

    // Open it: live figures over the metrics socket.
    await row.getByRole('link', { name: SERVER_NAME }).click();
    await page.locator('#server-view').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#server-name').textContent(), SERVER_NAME);
    await waitUntil(async () => (await page.locator('#server-badge').textContent()) === 'online', 15000, 'the online badge');

    const seen = new Set();
    await waitUntil(async () => {
      const { ts, text } = await page.locator('#m-cpu').evaluate((e) => ({ ts: e.dataset.ts, text: e.textContent }));
      if (ts && /^\d{1,3}\.\d %$/.test(text)) seen.add(ts);
      return seen.size >= 3; // the first figure and two live updates
    }, 20000, 'the CPU figure to update twice');
    assert.match(await page.locator('#m-mem').textContent(), /^\d{1,3}\.\d %$/);
    assert.match(await page.locator('#m-mem-detail').textContent(), /i?B of \d/);
    assert.match(await page.locator('#m-load').textContent(), /^\d+\.\d\d \/ \d+\.\d\d \/ \d+\.\d\d$/);
    assert.notEqual(await page.locator('#m-uptime').textContent(), '\u2013');

    const latest = (await api(base, 'GET', `/api/v1/servers/${added.id}/metrics?limit=1`, { token })).json.samples.at(-1);
    assert.equal(await page.locator('#disks tbody tr').count() > 0, latest.disk_usage.length > 0);
    assert.equal(await page.locator('#network tbody tr').count() > 0, latest.network.length > 0);
    if (latest.network.length > 0)
      assert.match(await page.locator('#network tbody tr').first().textContent(), /B\/s/);

    // This agent has no [docker] section in a config file: the Containers panel says so.
    await page.locator('#containers-none').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#containers-none').textContent(), 'Docker not reported by this agent.');
    assert.ok(await page.locator('#containers').isHidden());

    // The chart has points and the CPU line is on the canvas.
    await waitUntil(async () => Number(await page.locator('#chart').getAttribute('data-points')) >= 4, 10000, 'chart points');
    const cpuPixels = await page.locator('#chart').evaluate((c, rgb) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4)
        if (d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) < 30 && Math.abs(d[i + 1] - rgb[1]) < 30 && Math.abs(d[i + 2] - rgb[2]) < 30) n++;
      return n;
    }, CPU_COLOR);
    assert.ok(cpuPixels > 20, `the CPU line is not drawn (${cpuPixels} pixels of its colour)`);

    const screenshot = path.join(tmp, 'server.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.ok(fs.statSync(screenshot).size > 10000, 'the screenshot is empty');
    console.log(`screenshot: ${screenshot}`);

    // The agent goes away: a status message turns the badge offline.
    await agent.stop();
    await waitUntil(async () => (await page.locator('#server-badge').textContent()) === 'offline', 15000, 'the offline badge');

    // The socket drops (collector restart on the same port): the page says so and reconnects.
    await collector.stop();
    const restartedAt = consoleErrors.length;
    await waitUntil(async () => /reconnecting in \d+ s/.test(await page.locator('#link-state').textContent()),
      10000, 'the page to notice the closed socket');
    await startCollector(new URL(base).port, 'corvid-collector-2');
    await waitUntil(async () => (await page.locator('#link-state').textContent()) === 'live', 20000, 'the page to reconnect');
    await waitUntil(async () => (await page.locator('#server-badge').textContent()) === 'offline', 5000, 'the badge after reconnecting');

    // Log out: back to the form, nothing of the token left in the page's storage.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#login-view').waitFor({ state: 'visible' });
    const storage = await page.evaluate(() => ({
      cookie: document.cookie, local: localStorage.length, session: sessionStorage.getItem('corvid.token'),
    }));
    assert.deepEqual(storage, { cookie: '', local: 0, session: null });

    // Expected console errors: the browser's report of the refused login (401), and of a
    // reconnect attempt or a containers poll (every 5 s) while the collector was down.
    const unexpected = consoleErrors.filter((e, i) => !(e.url.endsWith('/api/v1/auth/login') && e.text.includes('401'))
      && !(i >= restartedAt && /^WebSocket connection to .* failed/.test(e.text))
      && !(i >= restartedAt && e.url.endsWith('/containers') && e.text.includes('ERR_CONNECTION_REFUSED')));
    assert.deepEqual(unexpected, [], 'console errors on the page');
    failed = false;
  } finally {
    if (failed && page) {
      const text = await withDeadline(page.evaluate(() => document.body.innerText), 5000, 'page text').catch(() => '');
      console.error(`--- page text ---\n${text}`);
    }
    await closeBrowser(server, browser);
    for (const c of children.reverse()) await c.stop().catch(() => {});
    if (failed) for (const c of children) console.error(`--- log of ${c.name} ---\n${c.log().slice(-6000)}`);
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
    if (process.env.CORVID_KEEP_LOGS) console.log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
});
