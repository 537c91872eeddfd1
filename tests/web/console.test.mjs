// Browser test of the admin console in the server view: a real collector, a real agent with
// commands enabled by its config file (allow list) and Docker pointed at a fake Engine API
// (fake-docker.mjs), Debian's Chromium driven by playwright-core. Per role:
//   operator: runs commands and sees their output stream in (stderr apart, markup as text), a
//             command the agent does not allow is "denied", old output from the history, a
//             container stopped from its button;
//   operator over the rate limit: "try again in N s";
//   viewer:   no command panel, no container buttons, no audit link;
//   admin:    "agent offline" when the agent has gone, everyone's history, the audit log a page
//             at a time ("Load more").
// Screenshots: /tmp/corvid-console.png (the operator's console), /tmp/corvid-audit.png.
//
// Run through ctest (web.console, tests/web/run.sh) or:
//   CORVID_BUILD_DIR=build node --test console.test.mjs
// CORVID_KEEP_LOGS=1 keeps the temp dir (logs) and prints its path.
// Every process started here is stopped by PID; every wait has a deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT, CHROMIUM, COLLECTOR, CSP, Child, api, cli, closeBrowser, openPage, waitUntil, withDeadline } from './harness.mjs';
import { startFakeDocker } from './fake-docker.mjs';

const PASSWORD = 'console-password-1';
const SERVER_NAME = 'console-host';
const USERS = [['admin', 'admin'], ['olivia', 'operator'], ['rita', 'operator'], ['vic', 'viewer']];
const ALLOW = ['echo [a-z ]+', 'echo [a-z ]+; echo [a-z ]+ >&2', "echo '[^']*'", 'echo [a-z]+; sleep [0-9]; echo [a-z]+'];
const HOSTILE = '<img src=x onerror=alert(1)><b>bold</b> & done';
const FINAL = ['completed', 'failed', 'timed_out', 'denied', 'lost'];
const SCREENSHOT = '/tmp/corvid-console.png';
const AUDIT_SCREENSHOT = '/tmp/corvid-audit.png';

function agentConfig(file, publicKey, serverId, socket) {
  // JSON strings are TOML basic strings as long as they are ASCII. Commands need this host's
  // server_id (the "id" of `server add`) and, since tests run as root, a run_as user: none of
  // these commands needs root.
  fs.writeFileSync(file, [
    `collector_public_key = ${JSON.stringify(publicKey)}`,
    `server_id = ${JSON.stringify(serverId)}`,
    '[commands]',
    'enabled = true',
    `allow = [${ALLOW.map((p) => JSON.stringify(p)).join(', ')}]`,
    'run_as = "nobody"',
    'timeout_s = 20',
    '[docker]',
    'enabled = true',
    `socket = ${JSON.stringify(socket)}`,
    '',
  ].join('\n'), { mode: 0o600 });
  return file;
}

test('web console: commands, containers, roles, audit log', { timeout: 300000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM),
    `${CHROMIUM} is missing: the browser test needs Debian's chromium (run packaging/build-deps.sh)`);
  for (const bin of [COLLECTOR, AGENT])
    assert.ok(fs.existsSync(bin), `${bin} is missing: build it first (or set CORVID_BUILD_DIR)`);
  const { chromium } = await import('playwright-core');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corvid-console-'));
  const dataDir = path.join(tmp, 'data');
  const children = [];
  let docker = null, server = null, browser = null, page = null, failed = true;
  const savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = tmp; // Playwright's Chromium profile goes under the temp dir
  try {
    for (const [name, role] of USERS) cli(['user', 'add', name, '--role', role], dataDir, `${PASSWORD}\n`);
    const added = JSON.parse(cli(['server', 'add', SERVER_NAME], dataDir));
    assert.ok(added.api_key && added.id && added.collector_public_key, 'server add printed no id/api_key/key');

    docker = await startFakeDocker(path.join(tmp, 'docker.sock'), [
      { id: 'a1'.repeat(32), name: 'web', image: 'nginx:1.25', state: 'running', cpu: 12, memory: 48 * 1024 ** 2 },
      { id: 'b2'.repeat(32), name: 'db', image: 'postgres:16', state: 'running', cpu: 3, memory: 310 * 1024 ** 2 },
      { id: 'c3'.repeat(32), name: 'nightly-report', image: 'corvid/report:2', state: 'exited', cpu: 0, memory: 0 },
    ]);

    const collector = new Child('corvid-collector', COLLECTOR, ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0',
      '--log-level', 'debug'], path.join(tmp, 'collector.log'));
    children.push(collector);
    const listening = await collector.firstLine(15000);
    const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(listening)?.[1];
    assert.ok(base, `unexpected first line: ${listening}`);

    const config = agentConfig(path.join(tmp, 'agent.toml'), added.collector_public_key, added.id,
      path.join(tmp, 'docker.sock'));
    const agent = new Child('corvid-agent', AGENT, ['--config', config, '--collector-url',
      `${base.replace('http', 'ws')}/api/v1/agents/ws`, '--interval', '1', '--log-level', 'debug',
      '--state-dir', path.join(tmp, 'agent-state')],
    path.join(tmp, 'agent.log'), { ...process.env, CORVID_API_KEY: added.api_key });
    children.push(agent);

    // The new scripts are served like app.js: right type, strict headers.
    for (const name of ['commands.js', 'containers.js', 'audit.js']) {
      const r = await api(base, 'GET', `/assets/${name}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8', name);
      assert.equal(r.headers.get('content-security-policy'), CSP, name);
    }

    const tokens = {};
    for (const [name] of USERS)
      tokens[name] = (await api(base, 'POST', '/api/v1/auth/login', { body: { username: name, password: PASSWORD } })).json.access_token;
    const rest = (method, route, who, body) => api(base, method, route, { token: tokens[who], body });
    await waitUntil(async () => (await rest('GET', `/api/v1/servers/${added.id}`, 'admin')).json?.online, 20000, 'the agent to connect');
    await waitUntil(async () => (await rest('GET', `/api/v1/servers/${added.id}/containers`, 'vic')).json?.containers?.length === 3,
      20000, 'the agent to report the fake Docker containers');

    let consoleErrors, dialogs;
    ({ server, browser, page, consoleErrors, dialogs } = await openPage(chromium, { acceptConfirm: true }));

    const text = (selector) => page.locator(selector).textContent();
    const signIn = async (user) => {
      // The UI learns whether the user is an admin by asking for the audit log once.
      const probed = page.waitForResponse((r) => r.url().endsWith('/api/v1/audit?limit=1'), { timeout: 15000 });
      await page.getByLabel('Username').fill(user);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByLabel('Password').press('Enter');
      await page.locator('#servers-view').waitFor({ state: 'visible' });
      await probed;
    };
    const signOut = async () => {
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.locator('#login-view').waitFor({ state: 'visible' });
    };
    const openServer = async () => {
      await page.locator('#servers-table').getByRole('link', { name: SERVER_NAME }).click();
      await page.locator('#server-view').waitFor({ state: 'visible' });
    };
    const waitStatus = async (statuses, what) => waitUntil(async () => {
      const s = (await text('#cmd-status')).replace(' ', '_');
      return statuses.includes(s) && s;
    }, 20000, what);
    const run = async (command, expect) => {
      await page.locator('#cmd-input').fill(command);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await waitUntil(async () => (await text('#cmd-shown')) === command, 10000, `"${command}" to be shown`);
      const status = await waitStatus(FINAL, `"${command}" to finish`);
      assert.equal(status, expect, `status of "${command}": ${await text('#cmd-detail')}`);
    };

    const response = await page.goto(`${base}/`, { waitUntil: 'load', timeout: 15000 });
    assert.equal(response.headers()['content-security-policy'], CSP);

    // ---- an operator runs commands ----------------------------------------------------------
    await signIn('olivia');
    assert.ok(await page.locator('#audit-link').isHidden(), 'an operator sees the audit link');
    await openServer();
    await page.locator('#cmd-history-empty').waitFor({ state: 'visible' });

    await run('echo hello web', 'completed');
    assert.equal(await text('#cmd-output'), 'hello web\n');
    const detail = await text('#cmd-detail');
    assert.match(detail, /exit code 0/);
    assert.match(detail, /\d+(\.\d)? m?s/);
    const historyRow = (command) => page.locator('#cmd-history tbody tr', { has: page.getByRole('button', { name: command, exact: true }) });
    await waitUntil(async () => /completed/.test(await historyRow('echo hello web').textContent().catch(() => '')),
      10000, 'the command in the history, completed');
    assert.match(await historyRow('echo hello web').textContent(), /olivia/);

    // Output shows as it comes, before the command ends.
    await page.locator('#cmd-input').fill('echo first; sleep 2; echo second');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await waitUntil(async () => (await text('#cmd-output')) === 'first\n', 10000, 'the first line, streamed');
    assert.equal(await text('#cmd-status'), 'running');
    assert.equal(await waitStatus(FINAL, 'the streamed command to finish'), 'completed');
    assert.equal(await text('#cmd-output'), 'first\nsecond\n');

    // Not in the agent's allow list: refused by the agent, shown as denied with its reason.
    await run('cat /etc/passwd', 'denied');
    assert.match(await text('#cmd-detail'), /denied: .*allow pattern/);
    assert.doesNotMatch(await text('#cmd-output'), /root:/);

    // Output is text, whatever it looks like.
    await run(`echo '${HOSTILE}'`, 'completed');
    assert.equal(await text('#cmd-output'), `${HOSTILE}\n`);
    assert.equal(await page.locator('#cmd-output img, #cmd-output b').count(), 0, 'output became markup');

    // Stored output of an earlier command, from the history.
    await historyRow('echo hello web').getByRole('button').click();
    await waitUntil(async () => (await text('#cmd-shown')) === 'echo hello web' && (await text('#cmd-output')) === 'hello web\n',
      10000, 'the stored output of the first command');
    assert.equal(await text('#cmd-status'), 'completed');
    assert.equal(await page.locator('#cmd-history tr.selected').count(), 1);

    // ---- the operator stops a container -------------------------------------------------------
    const row = (name) => page.locator('#containers tbody tr', { has: page.locator(`span.strong[title]`, { hasText: new RegExp(`^${name}$`) }) });
    await waitUntil(async () => (await page.locator('#containers tbody tr').count()) === 3, 15000, 'three containers');
    assert.match(await row('web').textContent(), /running/);
    assert.match(await row('web').textContent(), /nginx:1\.25/);
    await waitUntil(async () => /\d+\.\d %/.test(await row('web').textContent()), 15000, 'the CPU of web');
    assert.match(await row('web').textContent(), /48\.0 MiB of 2\.00 GiB/);
    assert.ok(await row('web').getByRole('button', { name: 'start web', exact: true }).isDisabled(), 'start is offered for a running container');
    assert.ok(await row('nightly-report').getByRole('button', { name: 'stop nightly-report', exact: true }).isDisabled());
    assert.ok(await page.locator('#containers-none').isHidden());
    await row('web').getByRole('button', { name: 'stop web', exact: true }).click();
    await waitUntil(async () => /stop web: Container stopped/.test(await text('#docker-result')), 20000, 'the stop result');
    assert.deepEqual(docker.actions, ['stop web']);
    assert.match(await page.locator('#docker-result').getAttribute('class'), /\bok\b/);
    await waitUntil(async () => /exited/.test(await row('web').textContent()), 15000, 'web to show exited');
    await waitUntil(async () => /completed/.test(await historyRow('docker stop web').textContent().catch(() => '')),
      10000, 'the Docker action in the history');

    // Last, for the screenshot: stdout and stderr, told apart.
    await run('echo out here; echo err here >&2', 'completed');
    await waitUntil(async () => (await page.locator('#cmd-output .stderr').textContent().catch(() => '')).includes('err here'),
      5000, 'stderr in the output');
    assert.match(await page.locator('#cmd-output .stdout').first().textContent(), /out here/);
    const colours = await page.locator('#cmd-output').evaluate((pre) =>
      [pre.querySelector('.stdout'), pre.querySelector('.stderr')].map((e) => getComputedStyle(e).color));
    assert.notEqual(colours[0], colours[1], 'stderr looks like stdout');
    await page.locator('#cmd-input').fill('echo hello web');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`screenshot: ${SCREENSHOT}`);
    await signOut();
    assert.equal(await page.locator('#cmd-output').textContent(), '', 'output left in the page after logout');

    // ---- an operator over the rate limit (30 a minute) ----------------------------------------
    for (let i = 0; i < 30; i++) {
      const r = await rest('POST', `/api/v1/servers/${added.id}/commands`, 'rita', { command: `echo filler ${'x'.repeat(i % 5 + 1)}` });
      assert.equal(r.status, 202, r.text);
      await waitUntil(async () => FINAL.includes((await rest('GET', `/api/v1/commands/${r.json.command_id}`, 'rita')).json?.status),
        10000, `filler command ${i}`, 50);
    }
    await signIn('rita');
    await openServer();
    await waitUntil(async () => (await page.locator('#cmd-history tbody tr').count()) === 30, 10000, "rita's 30 commands");
    assert.equal(await historyRow('echo hello web').count(), 0, "rita sees olivia's command");
    await page.locator('#cmd-input').fill('echo one more');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('#cmd-error').waitFor({ state: 'visible' });
    assert.match(await text('#cmd-error'), /^Too many commands: try again in \d+ s\.$/);
    await signOut();

    // ---- the agent goes; a viewer looks -------------------------------------------------------
    await agent.stop();
    await waitUntil(async () => !(await rest('GET', `/api/v1/servers/${added.id}`, 'admin')).json?.online, 15000, 'the agent to go offline');
    await signIn('vic');
    assert.ok(await page.locator('#audit-link').isHidden(), 'a viewer sees the audit link');
    await openServer();
    await waitUntil(async () => page.locator('#server-view').evaluate((e) => e.classList.contains('no-commands')), 10000,
      'the command panel to go for a viewer');
    assert.ok(await page.locator('#commands-card').isHidden());
    await waitUntil(async () => (await page.locator('#containers tbody tr').count()) === 3, 10000, 'containers for a viewer');
    assert.equal(await page.locator('#containers tbody button:visible').count(), 0, 'a viewer gets container buttons');
    await signOut();

    // ---- an admin: offline agent, everyone's history, the audit log ---------------------------
    await signIn('admin');
    assert.ok(await page.locator('#audit-link').isVisible(), 'an admin does not see the audit link');
    await openServer();
    await waitUntil(async () => (await page.locator('#cmd-history tbody tr').count()) === 36, 10000, "everyone's commands");
    assert.match(await historyRow('echo hello web').textContent(), /olivia/);
    await page.locator('#cmd-input').fill('echo hello web');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('#cmd-error').waitFor({ state: 'visible' });
    assert.equal(await text('#cmd-error'), 'The agent is offline: the command was not sent.');

    await page.locator('#audit-link').click();
    await page.locator('#audit-view').waitFor({ state: 'visible' });
    const auditRows = page.locator('#audit-table tbody tr');
    await waitUntil(async () => (await auditRows.count()) === 50, 10000, 'the first page of the audit log');
    // 36 commands x 2 (dispatched, finished), and user.created for each of the USERS (issue 12.5).
    const auditEntries = 36 * 2 + USERS.length;
    assert.ok(await page.locator('#audit-more').isVisible(), `no "Load more" with ${auditEntries} entries`);
    await page.screenshot({ path: AUDIT_SCREENSHOT });
    console.log(`screenshot: ${AUDIT_SCREENSHOT}`);
    await page.getByRole('button', { name: 'Load more' }).click();
    await waitUntil(async () => (await auditRows.count()) === auditEntries, 10000, 'the second page of the audit log');
    await page.locator('#audit-more').waitFor({ state: 'hidden' });
    // A command's entries: its dispatch (who, from where, what), then its outcome, tied by its id.
    const entries = async (detail) => {
      const dispatched = page.locator('#audit-table tbody tr', { has: page.getByRole('cell', { name: detail, exact: true }) });
      assert.equal(await dispatched.count(), 1, `dispatch entries of "${detail}"`);
      const id = await dispatched.locator('td.cmd-id').getAttribute('title');
      const finished = page.locator('#audit-table tbody tr', { hasNot: page.getByRole('cell', { name: detail, exact: true }) })
        .filter({ has: page.locator(`td.cmd-id[title="${id}"]`) });
      return { dispatched: await dispatched.textContent(), finished: await finished.textContent() };
    };
    const hello = await entries('echo hello web');
    assert.match(hello.dispatched, /^.*olivia127\.0\.0\.1command\.dispatched/);
    assert.match(hello.dispatched, new RegExp(SERVER_NAME));
    assert.match(hello.finished, /command\.finished.*completed0/);
    assert.match((await entries('cat /etc/passwd')).finished, /command\.finished.*allow pattern.*denied/);
    assert.match((await entries('stop web')).finished, /docker\.finished.*Container stopped.*completed/);
    await signOut();

    assert.deepEqual(dialogs, ['confirm: Stop the container web?']);
    // Expected console errors: the browser's reports of refused calls the UI turns into messages.
    const expected = [[/\/api\/v1\/audit\?limit=1$/, 403], [/\/commands$/, 403], [/\/commands$/, 429], [/\/commands$/, 409]];
    const unexpected = consoleErrors.filter((e) => !expected.some(([url, status]) => url.test(e.url) && e.text.includes(`status of ${status}`)));
    assert.deepEqual(unexpected, [], 'console errors on the page');
    failed = false;
  } finally {
    if (failed && page) {
      const body = await withDeadline(page.evaluate(() => document.body.innerText), 5000, 'page text').catch(() => '');
      console.error(`--- page text ---\n${body}`);
      await withDeadline(page.screenshot({ path: path.join(tmp, 'failure.png'), fullPage: true }), 10000, 'a screenshot').catch(() => {});
    }
    await closeBrowser(server, browser);
    for (const c of children.reverse()) await c.stop().catch(() => {});
    if (docker) await withDeadline(docker.close(), 5000, 'the fake Docker to close').catch(() => {});
    if (failed) for (const c of children) console.error(`--- log of ${c.name} ---\n${c.log().slice(-6000)}`);
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
    if (process.env.CORVID_KEEP_LOGS) console.log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
});
