// Shared by the browser tests: the collector and agent binaries of CORVID_BUILD_DIR, child
// processes stopped by PID, deadlines on every wait, the CLI and the REST API from Node.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BUILD_DIR = path.resolve(process.env.CORVID_BUILD_DIR || path.join(here, '../../build'));
export const COLLECTOR = path.join(BUILD_DIR, 'collector', 'corvid-collector');
export const AGENT = path.join(BUILD_DIR, 'agent', 'corvid-agent');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
export const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
  + "frame-ancestors 'none'";

// ---- processes ---------------------------------------------------------------------------------

export function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export async function waitUntil(predicate, ms, what, interval = 100) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(interval);
  }
}

export class Child {
  constructor(name, file, args, logPath, env = process.env) {
    this.name = name;
    this.logPath = logPath;
    const log = fs.openSync(logPath, 'a');
    this.proc = spawn(file, args, { env, stdio: ['ignore', 'pipe', log] });
    fs.closeSync(log); // the child holds its own copy
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.proc.once('error', (e) => { this.spawnError = e; });
  }

  get running() { return this.proc.exitCode === null && this.proc.signalCode === null && !this.spawnError; }

  // Resolves with the first stdout line.
  firstLine(ms) {
    let buf = '';
    const line = new Promise((resolve, reject) => {
      this.proc.stdout.on('data', (chunk) => {
        buf += chunk;
        if (buf.includes('\n')) resolve(buf.split('\n', 1)[0]);
      });
      this.exited.then(({ code, signal }) => reject(new Error(`${this.name} exited (${code ?? signal}): ${this.log()}`)));
    });
    return withDeadline(line, ms, `${this.name}'s first line`);
  }

  async stop() {
    if (this.running) {
      process.kill(this.proc.pid, 'SIGTERM');
      try {
        await withDeadline(this.exited, 10000, `${this.name} to exit`);
      } catch {
        process.kill(this.proc.pid, 'SIGKILL');
        await withDeadline(this.exited, 5000, `${this.name} to die`);
      }
    }
    this.proc.stdout.destroy();
    return this.exited;
  }

  log() {
    try { return fs.readFileSync(this.logPath, 'utf8'); } catch { return ''; }
  }
}

export function cli(args, dataDir, input) {
  const out = spawnSync(COLLECTOR, [...args, '--data-dir', dataDir], { input, timeout: 60000, encoding: 'utf8' });
  assert.equal(out.status, 0, `corvid-collector ${args.join(' ')} failed: ${out.error ?? ''} ${out.stderr}`);
  return out.stdout;
}

export async function api(base, method, route, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + route, {
    method, headers, body: body && JSON.stringify(body), signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

// A headless Chromium with one page that records what the tests check after the fact: console
// errors ({text, url}) and dialogs ("type: message"). A confirm is accepted when acceptConfirm,
// every other dialog dismissed. Close with closeBrowser(server, browser).
export async function openPage(chromium, { acceptConfirm = false } = {}) {
  const server = await chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30000 });
  try {
    const browser = await chromium.connect(server.wsEndpoint(), { timeout: 30000 });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    const consoleErrors = [];
    const dialogs = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push({ text: msg.text(), url: msg.location().url });
    });
    page.on('pageerror', (e) => consoleErrors.push({ text: `uncaught: ${e.message}`, url: '' }));
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      acceptConfirm && d.type() === 'confirm' ? d.accept() : d.dismiss();
    });
    return { server, browser, page, consoleErrors, dialogs };
  } catch (e) {
    await closeBrowser(server, null);
    throw e;
  }
}

// Closes the browser, then makes sure Chromium's process is gone (by PID).
export async function closeBrowser(server, browser) {
  if (browser) await withDeadline(browser.close(), 10000, 'the browser to close').catch(() => {});
  if (server) {
    const pid = server.process().pid;
    await withDeadline(server.close(), 10000, 'Chromium to exit').catch(() => {});
    try { process.kill(pid, 0); process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}
