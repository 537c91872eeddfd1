// Browser test of the server view's Logs and Data gaps panels: a real collector, a real agent
// following *.log in a temp dir (its config file), Debian's Chromium driven by playwright-core.
// A viewer (any role reads logs) watches lines appended to the file arrive live, styled by level;
// a line of markup stays text; a cut line shows its marker; the level filter and the search
// re-subscribe and leave out what they should; "Load older" pages back to the first stored line
// without repeats; Paused holds new lines back until Live; the socket comes back after a collector
// restart; the gaps panel says there are none.
//
// Run through ctest (web.logs, tests/web/run.sh) or: CORVID_BUILD_DIR=build node --test logs.test.mjs
// CORVID_KEEP_LOGS=1 keeps the temp dir (logs, screenshot) and prints its path.
// Every process started here is stopped by PID; every wait has a deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT, CHROMIUM, COLLECTOR, CSP, Child, api, cli, closeBrowser, openPage, waitUntil, withDeadline } from './harness.mjs';

const PASSWORD = 'logs-password-1';
const SERVER_NAME = 'logs-host';
const OLD_LINES = 260; // more than the 200 the page asks for, so some are only reached by "Load older"
const HOSTILE = 'WARN hostile <img src=x onerror=alert(1)><b>bold</b> & done';
const MAX_MESSAGE_BYTES = 256;

test('web logs: live lines, level filter, search, load older, pause, reconnect, gaps', { timeout: 180000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM),
    `${CHROMIUM} is missing: the browser test needs Debian's chromium (run packaging/build-deps.sh)`);
  for (const bin of [COLLECTOR, AGENT])
    assert.ok(fs.existsSync(bin), `${bin} is missing: build it first (or set CORVID_BUILD_DIR)`);
  const { chromium } = await import('playwright-core');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corvid-logs-'));
  const dataDir = path.join(tmp, 'data');
  const logDir = path.join(tmp, 'logs');
  const logFile = path.join(logDir, 'app.log');
  const children = [];
  let server = null, browser = null, page = null, failed = true;
  const savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = tmp; // Playwright's Chromium profile goes under the temp dir
  try {
    cli(['user', 'add', 'vic', '--role', 'viewer'], dataDir, `${PASSWORD}\n`);
    const added = JSON.parse(cli(['server', 'add', SERVER_NAME], dataDir));
    assert.ok(added.api_key && added.id, 'server add printed no id/api_key');
    fs.mkdirSync(logDir);
    fs.writeFileSync(logFile, 'INFO written before the agent started\n');
    const append = (...lines) => fs.appendFileSync(logFile, lines.map((l) => `${l}\n`).join(''));

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

    // JSON strings are TOML basic strings as long as they are ASCII.
    const config = path.join(tmp, 'agent.toml');
    fs.writeFileSync(config, [
      `state_dir = ${JSON.stringify(path.join(tmp, 'agent-state'))}`,
      '[logs]',
      `max_message_bytes = ${MAX_MESSAGE_BYTES}`,
      '[[logs.files]]',
      `path = ${JSON.stringify(path.join(logDir, '*.log'))}`,
      '',
    ].join('\n'), { mode: 0o600 });
    children.push(new Child('corvid-agent', AGENT, ['--config', config, '--collector-url',
      `${base.replace('http', 'ws')}/api/v1/agents/ws`, '--interval', '1', '--log-level', 'debug'],
    path.join(tmp, 'agent.log'), { ...process.env, CORVID_API_KEY: added.api_key }));

    const r = await api(base, 'GET', '/assets/logs.js');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(r.headers.get('content-security-policy'), CSP);

    const token = (await api(base, 'POST', '/api/v1/auth/login', { body: { username: 'vic', password: PASSWORD } })).json.access_token;
    const stored = async (search) =>
      (await api(base, 'GET', `/api/v1/servers/${added.id}/logs?limit=1000&search=${encodeURIComponent(search)}`, { token })).json?.entries ?? [];
    await waitUntil(async () => (await api(base, 'GET', `/api/v1/servers/${added.id}`, { token })).json?.online, 20000,
      'the agent to connect');

    // Older lines, stored before the page opens. The agent follows the file from where it was at
    // its start, so this waits for the collector to hold them all.
    const pad = (i) => String(i).padStart(3, '0');
    append(...Array.from({ length: OLD_LINES }, (_, i) => `INFO old line ${pad(i + 1)}`));
    await waitUntil(async () => (await stored('old line')).length === OLD_LINES, 20000, `${OLD_LINES} old lines stored`);

    let consoleErrors, dialogs;
    ({ server, browser, page, consoleErrors, dialogs } = await openPage(chromium));

    const messages = () => page.locator('#logs .log-line .log-msg').allTextContents();
    const hasLine = async (text) => (await messages()).some((m) => m.includes(text));
    const waitLine = (text) => waitUntil(() => hasLine(text), 10000, `the line "${text}"`);
    const lineOf = (text) => page.locator('#logs .log-line', { hasText: text });

    // ---- a viewer opens the server ---------------------------------------------------------------
    await page.goto(`${base}/`, { waitUntil: 'load', timeout: 15000 });
    await page.getByLabel('Username').fill('vic');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.locator('#servers-table').getByRole('link', { name: SERVER_NAME }).click();
    await page.locator('#server-view').waitFor({ state: 'visible' });

    // The last 200 stored lines, oldest first; none from before the agent started.
    await waitUntil(async () => (await page.locator('#logs .log-line').count()) === 200, 10000, 'the 200 lines of history');
    let shown = await messages();
    assert.equal(shown[0], `INFO old line ${pad(OLD_LINES - 199)}`);
    assert.equal(shown.at(-1), `INFO old line ${pad(OLD_LINES)}`);
    assert.ok(!(await hasLine('before the agent started')));
    assert.equal(await page.locator('#logs-live').textContent(), 'Live');
    assert.equal(await page.locator('#logs-live').getAttribute('aria-pressed'), 'true');

    // ---- lines arrive live, at the bottom, styled by level ---------------------------------------
    const long = `ERROR long line ${'x'.repeat(400)}`;
    append('INFO live alpha', 'WARN live bravo disk nearly full', 'ERROR live charlie timeout talking to db',
      'DEBUG live delta', HOSTILE, long, 'CRIT live echo');
    await waitLine('live echo');
    shown = await messages();
    assert.deepEqual(shown.slice(-7).map((m) => m.replace(/x+…$/, 'x…')), ['INFO live alpha', 'WARN live bravo disk nearly full',
      'ERROR live charlie timeout talking to db', 'DEBUG live delta', HOSTILE, 'ERROR long line x…', 'CRIT live echo']);
    const row = await lineOf('live bravo').evaluate((e) => ({
      cls: e.className, level: e.querySelector('.log-level').textContent,
      source: e.querySelector('.log-src').title, shortSource: e.querySelector('.log-src').textContent,
      time: e.querySelector('.log-time').textContent, ts: e.dataset.ts,
      colour: getComputedStyle(e.querySelector('.log-level')).color,
      infoColour: getComputedStyle(e.previousElementSibling.querySelector('.log-level')).color,
      font: getComputedStyle(e.querySelector('.log-msg')).fontFamily,
    }));
    assert.match(row.cls, /\blvl-warn\b/);
    assert.equal(row.level, 'WARN');
    assert.equal(row.source, logFile);
    assert.ok(logFile.endsWith(row.shortSource.replace(/^\u2026/, '')), row.shortSource);
    assert.match(row.time, /^\d\d:\d\d:\d\d\.\d{3}$/);
    assert.ok(Math.abs(Date.parse(row.ts) - Date.now()) < 60000, `timestamp ${row.ts}`);
    assert.notEqual(row.colour, row.infoColour, 'WARN looks like INFO');
    assert.match(row.font, /mono/i);
    for (const [text, level] of [['live alpha', 'info'], ['live charlie', 'error'], ['live delta', 'debug'], ['live echo', 'crit']])
      assert.match(await lineOf(text).getAttribute('class'), new RegExp(`\\blvl-${level}\\b`), text);

    // Markup in a line is text; a line the agent cut carries the marker.
    assert.equal(await page.locator('#logs img, #logs b').count(), 0, 'a log line became markup');
    assert.equal(await lineOf('hostile').locator('.log-msg').textContent(), HOSTILE);
    const cut = lineOf('long line');
    assert.equal(await cut.locator('.log-cut').textContent(), '\u2026');
    assert.ok((await cut.locator('.log-msg').textContent()).length <= MAX_MESSAGE_BYTES + 1);
    assert.equal(await lineOf('live echo').locator('.log-cut').count(), 0);
    await page.screenshot({ path: path.join(tmp, 'logs.png'), fullPage: true });

    // ---- the level filter: WARN and up, history and live -----------------------------------------
    await page.getByLabel('Level').selectOption('WARN');
    await waitUntil(async () => {
      const m = await messages();
      return m.length > 0 && !m.some((t) => t.includes('old line')) && m.at(-1) === 'CRIT live echo';
    }, 10000, 'the WARN history');
    assert.equal(await page.locator('#logs .lvl-info, #logs .lvl-debug, #logs .lvl-notice').count(), 0);
    assert.deepEqual((await messages()).filter((m) => m.includes('live')),
      ['WARN live bravo disk nearly full', 'ERROR live charlie timeout talking to db', 'CRIT live echo']);
    append('INFO filtered foxtrot', 'ERROR kept golf');
    await waitLine('kept golf');
    assert.ok(!(await hasLine('foxtrot')), 'an INFO line shown under WARN');

    // ---- the search, on top of the level -----------------------------------------------------------
    await page.getByLabel('Search').fill('TIMEOUT');
    await waitUntil(async () => (await messages()).join('|') === 'ERROR live charlie timeout talking to db', 10000,
      'only the line with "timeout"');
    append('ERROR another timeout hotel', 'ERROR unrelated india', 'INFO quiet timeout juliet');
    await waitLine('timeout hotel');
    assert.deepEqual(await messages(), ['ERROR live charlie timeout talking to db', 'ERROR another timeout hotel']);

    // ---- back to everything; "Load older" pages back to the first stored line ----------------------
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Level').selectOption('DEBUG');
    await waitUntil(async () => (await messages()).at(-1) === 'INFO quiet timeout juliet' &&
      (await page.locator('#logs .log-line').count()) === 200, 10000, 'the unfiltered history');
    const oldNumbers = async () => (await messages()).filter((m) => m.startsWith('INFO old line ')).map((m) => Number(m.slice(14)));
    let before = await oldNumbers();
    assert.ok(before[0] > 1, 'no older line left to load');
    for (let clicks = 0; clicks < 5 && (await page.locator('#logs-older').textContent()) === 'Load older'; clicks++) {
      const top = (await messages())[0];
      await page.getByRole('button', { name: 'Load older' }).click();
      await waitUntil(async () => (await messages())[0] !== top || (await page.locator('#logs-older').textContent()) !== 'Load older',
        10000, 'an older page');
    }
    const numbers = await oldNumbers();
    assert.deepEqual(numbers, Array.from({ length: OLD_LINES }, (_, i) => i + 1), 'old lines missing, repeated or out of order');
    assert.ok(numbers.length > before.length);
    await waitUntil(async () => (await page.locator('#logs-older').textContent()) === 'No older lines', 5000, 'the end of the log');
    assert.ok(await page.locator('#logs-older').isDisabled());
    assert.ok(!(await hasLine('before the agent started')));
    const count = await page.locator('#logs .log-line').count();
    const texts = await messages();
    assert.equal(new Set(texts).size, texts.length, 'a line shown twice');

    // ---- paused: new lines wait; live again: they come --------------------------------------------
    await page.getByRole('button', { name: 'Live' }).click();
    assert.equal(await page.locator('#logs-live').textContent(), 'Paused');
    append('NOTICE while paused kilo');
    await waitUntil(async () => (await page.locator('#logs-state').textContent()) === 'paused; 1 new line', 10000,
      'the paused count');
    assert.ok(!(await hasLine('paused kilo')));
    await page.getByRole('button', { name: 'Paused' }).click();
    await waitLine('paused kilo');
    assert.equal(await page.locator('#logs .log-line').count(), count + 1);
    assert.match(await lineOf('paused kilo').getAttribute('class'), /\blvl-notice\b/);

    // A real `dropped` needs a viewer slower than the collector's queue of 1000 entries; the frame
    // is handed to the page's handler as its socket would hand it, to see how it shows.
    await page.evaluate(() => onLogMessage(lg.view, { type: 'dropped', count: 3 }));
    await waitUntil(async () => (await page.locator('#logs > :last-child').textContent()) === '3 lines dropped (viewer too slow)',
      5000, 'the dropped note');
    assert.match(await page.locator('#logs > :last-child').getAttribute('class'), /\blog-note\b/);

    // ---- the gaps panel: none -----------------------------------------------------------------------
    await page.locator('#gaps-empty').waitFor({ state: 'visible' });
    assert.match(await page.locator('#gaps-empty').textContent(), /^No gaps/);
    assert.ok(await page.locator('#gaps').isHidden());

    // ---- the socket drops (collector restart on the same port): back with the history ----------------
    await collector.stop();
    const restartedAt = consoleErrors.length;
    await waitUntil(async () => /reconnecting in \d+ s/.test(await page.locator('#logs-state').textContent()),
      10000, 'the page to notice the closed logs socket');
    await startCollector(new URL(base).port, 'corvid-collector-2');
    await waitUntil(async () => (await page.locator('#logs-state').textContent()) === '' && (await hasLine('paused kilo')),
      20000, 'the logs socket to reconnect');
    await waitUntil(async () => (await api(base, 'GET', `/api/v1/servers/${added.id}`, { token })).json?.online, 20000,
      'the agent to reconnect');
    append('ERROR after restart lima');
    await waitLine('after restart lima');

    assert.deepEqual(dialogs, [], 'a line ran script');
    const unexpected = consoleErrors.filter((e, i) => !(i >= restartedAt && /^WebSocket connection to .* failed/.test(e.text))
      && !(i >= restartedAt && /\/(containers|commands)$/.test(e.url) && /ERR_CONNECTION_REFUSED|status of 403/.test(e.text))
      && !(/\/api\/v1\/audit\?limit=1$/.test(e.url) && e.text.includes('status of 403'))
      && !(/\/commands$/.test(e.url) && e.text.includes('status of 403')));
    assert.deepEqual(unexpected, [], 'console errors on the page');
    failed = false;
  } finally {
    if (failed && page) {
      const body = await withDeadline(page.evaluate(() => document.body.innerText), 5000, 'page text').catch(() => '');
      console.error(`--- page text ---\n${body.slice(-6000)}`);
      await withDeadline(page.screenshot({ path: path.join(tmp, 'failure.png'), fullPage: true }), 10000, 'a screenshot').catch(() => {});
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
