// Corvid's operator UI: sign in, list the servers, watch one server's live metrics.
// Plain JS served by the collector itself (strict CSP: no inline code or styles, same origin only).
// The token lives in sessionStorage (this tab only), never in a cookie or localStorage.
// Classic scripts sharing one global scope, run in this order: app.js (this file: helpers, REST,
// session, routing, metrics), commands.js, containers.js and logs.js (panels of the server view,
// registered in serverPanels), audit.js (the admin's audit log). Routing starts once all have run.
'use strict';

const $ = (id) => document.getElementById(id);
const WINDOW_MS = 10 * 60 * 1000; // the chart's span, and the history asked for
const SERVERS_REFRESH_MS = 10 * 1000;
const REQUEST_TIMEOUT_MS = 15 * 1000;

const state = {
  token: sessionStorage.getItem('corvid.token'),
  user: sessionStorage.getItem('corvid.user'),
  servers: [],
  serversTimer: null,
  serversLoading: false,
  live: null,   // the open metrics socket: {id, ws, attempt, timer, closed}
  series: [],   // [{t, cpu, mem}] for the chart, oldest first
  // What this user may do, learnt by trying (the UI reads nothing from the token): null until
  // known. The collector checks every call anyway; these only hide what would be refused.
  admin: null,      // GET /api/v1/audit answered (audit.js)
  canCommand: null, // GET …/commands answered rather than 403 (commands.js)
};

// Panels of the server view defined in the other files: {open(serverId), close()}. close() also
// clears what the panel shows, so nothing of one user's session is left for the next.
const serverPanels = [];

// ---- formatting -------------------------------------------------------------------------------

const DASH = '\u2013';
const num = (v) => typeof v === 'number' && Number.isFinite(v);

function fmtBytes(n) {
  if (!num(n)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  const digits = i === 0 ? 0 : n < 10 ? 2 : n < 100 ? 1 : 0;
  return `${n.toFixed(digits)} ${units[i]}`;
}
const fmtRate = (n) => (num(n) ? `${fmtBytes(n)}/s` : DASH);
const fmtPct = (n) => (num(n) ? `${n.toFixed(1)} %` : DASH);

function fmtDuration(s) {
  if (!num(s)) return DASH;
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min` : `${Math.floor(s)} s`;
}

function fmtAgo(iso) {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleString();
}

// ---- small DOM helpers ------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

function showError(id, message) {
  const p = $(id);
  p.textContent = message || '';
  p.hidden = !message;
}

function setBadge(badge, online) {
  badge.textContent = online ? 'online' : 'offline';
  badge.className = `badge ${online ? 'online' : 'offline'}`;
}

function showView(name) {
  for (const v of ['login', 'servers', 'server', 'audit']) $(`${v}-view`).hidden = v !== name;
  $('audit-link').hidden = name === 'login' || state.admin !== true;
  $('audit-link').classList.toggle('current', name === 'audit');
  $('logout').hidden = name === 'login';
  $('whoami').textContent = name === 'login' ? '' : `signed in as ${state.user}`;
  if (name === 'login') $('username').focus();
}

// ---- REST -------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, data) { super(message); this.status = status; this.data = data; }
}

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
  let res, text;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                              signal: abort.signal, cache: 'no-store', credentials: 'omit' });
    text = await res.text();
  } catch (e) {
    throw new ApiError(0, e.name === 'AbortError' ? 'the collector did not answer in time' : 'cannot reach the collector');
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: use the status below */ }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || `HTTP ${res.status}`, data);
  return data;
}

// A 401 from any API call means the token expired or the user was removed.
function handleApiError(e, errorId, message = e.message) {
  if (e.status === 401) logout('your session has expired; sign in again');
  else showError(errorId, message);
}

// ---- session ----------------------------------------------------------------------------------

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const username = $('username').value.trim();
  const password = $('password').value;
  if (!username || !password) { showError('login-error', 'enter a username and a password'); return; }
  $('login-submit').disabled = true;
  showError('login-error', '');
  try {
    const r = await api('POST', '/api/v1/auth/login', { username, password });
    state.token = r.access_token;
    state.user = username;
    sessionStorage.setItem('corvid.token', state.token);
    sessionStorage.setItem('corvid.user', username);
    $('password').value = '';
    route();
  } catch (e) {
    showError('login-error', e.message);
    $('password').select();
  } finally {
    $('login-submit').disabled = false;
  }
});

function logout(message) {
  leaveViews();
  state.token = state.user = null;
  state.admin = state.canCommand = null;
  state.servers = [];
  sessionStorage.removeItem('corvid.token');
  sessionStorage.removeItem('corvid.user');
  $('servers-table').tBodies[0].replaceChildren();
  showView('login');
  showError('login-error', message || '');
}
$('logout').addEventListener('click', () => { logout(); history.replaceState(null, '', '#/'); });

// ---- routing: #/ is the server list, #/servers/{id} one server, #/audit the audit log ------------

function leaveViews() {
  stopLive();
  stopServers();
  for (const p of serverPanels) p.close();
  closeAudit();
}

function route() {
  leaveViews();
  if (!state.token) { showView('login'); return; }
  if (state.admin === null) probeAdmin();
  const m = /^#\/servers\/([0-9a-f-]{36})$/.exec(location.hash);
  if (m) openServer(m[1]);
  else if (location.hash === '#/audit') openAudit();
  else openServers();
}
window.addEventListener('hashchange', route);

// ---- server list ------------------------------------------------------------------------------

function openServers() {
  showView('servers');
  refreshServers();
  state.serversTimer = setInterval(refreshServers, SERVERS_REFRESH_MS);
}

function stopServers() {
  clearInterval(state.serversTimer);
  state.serversTimer = null;
}

async function refreshServers() {
  if (state.serversLoading) return;
  state.serversLoading = true;
  try {
    state.servers = await api('GET', '/api/v1/servers');
    showError('servers-error', '');
    renderServers();
  } catch (e) {
    handleApiError(e, 'servers-error');
  } finally {
    state.serversLoading = false;
  }
}

function renderServers() {
  const rows = state.servers.map((s) => {
    const badge = el('span');
    setBadge(badge, s.online);
    return el('tr', {},
      el('td', {}, el('a', { href: `#/servers/${s.id}`, textContent: s.name })),
      el('td', {}, badge),
      el('td', { textContent: s.hostname || DASH }),
      el('td', { textContent: fmtAgo(s.last_seen), title: s.last_seen || '' }));
  });
  $('servers-table').tBodies[0].replaceChildren(...rows);
  $('servers-empty').hidden = rows.length > 0;
  $('servers-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
}

// ---- one server: the live metrics socket (proto/PROTOCOL.md, section 4) -----------------------

function openServer(id) {
  showView('server');
  showError('server-error', '');
  const known = state.servers.find((s) => s.id === id);
  $('server-name').textContent = known ? known.name : 'Server';
  $('server-badge').textContent = 'unknown';
  $('server-badge').className = 'badge';
  state.series = [];
  renderSample({});
  drawChart();
  api('GET', `/api/v1/servers/${id}`)
    .then((s) => { $('server-name').textContent = s.name; document.title = `${s.name} - Corvid`; })
    .catch((e) => handleApiError(e, 'server-error'));
  state.live = { id, ws: null, attempt: 0, timer: null, closed: false,
                 redraw: setInterval(drawChart, 10000) }; // keep the time axis moving when no data comes
  connect(state.live);
  for (const p of serverPanels) p.open(id);
}

function stopLive() {
  const live = state.live;
  if (!live) return;
  live.closed = true;
  clearTimeout(live.timer);
  clearInterval(live.redraw);
  if (live.ws) live.ws.close(1000);
  state.live = null;
  document.title = 'Corvid';
}

function connect(live) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws/metrics/${live.id}`);
  live.ws = ws;
  $('link-state').textContent = 'connecting\u2026';
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: state.token }));
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (!live.closed) onMessage(live, msg);
  };
  ws.onclose = () => {
    if (live.closed) return;
    live.ws = null;
    // 1 s, 2 s, 4 s … 30 s, with jitter so many tabs do not come back at once.
    const delay = Math.min(30, 2 ** live.attempt) * (0.5 + Math.random() / 2) * 1000;
    live.attempt++;
    $('link-state').textContent = `connection lost; reconnecting in ${Math.ceil(delay / 1000)} s`;
    live.timer = setTimeout(() => connect(live), delay);
  };
}

function onMessage(live, msg) {
  switch (msg.type) {
  case 'auth_success':
    live.attempt = 0;
    $('link-state').textContent = 'live';
    showError('server-error', '');
    live.ws.send(JSON.stringify({ type: 'subscribe', history_s: WINDOW_MS / 1000 }));
    break;
  case 'metrics':
    addSamples([msg.data]);
    renderSample(msg.data);
    break;
  case 'history': {
    const samples = Array.isArray(msg.data) ? msg.data : [];
    addSamples(samples);
    if (samples.length && !$('m-cpu').dataset.ts) renderSample(samples[samples.length - 1]);
    break;
  }
  case 'status':
    setBadge($('server-badge'), msg.data && msg.data.online);
    $('server-badge').title = msg.data && msg.data.last_seen ? `last seen ${msg.data.last_seen}` : '';
    break;
  case 'ping':
    live.ws.send(JSON.stringify({ type: 'pong' }));
    break;
  case 'error':
    if (msg.code === 'auth_failed') {
      logout('your session has expired; sign in again');
    } else if (msg.code === 'not_found') {
      stopLive();
      showError('server-error', 'this server does not exist (any more)');
      $('link-state').textContent = '';
    } else {
      showError('server-error', `${msg.code}: ${msg.message}`);
    }
    break;
  default:
    break; // newer message types: ignored (PROTOCOL.md, section 6)
  }
}

function addSamples(samples) {
  for (const s of samples) {
    const t = Date.parse(s.timestamp);
    if (!Number.isNaN(t)) state.series.push({ t, cpu: s.cpu_percent, mem: s.memory_percent });
  }
  // History and live data overlap after a reconnect: sort, drop duplicates, keep the window.
  state.series.sort((a, b) => a.t - b.t);
  const newest = state.series.length ? state.series[state.series.length - 1].t : 0;
  state.series = state.series.filter((p, i, a) => p.t >= newest - WINDOW_MS && (i === 0 || a[i - 1].t !== p.t));
  drawChart();
}

function renderSample(s) {
  const cpu = $('m-cpu');
  cpu.textContent = fmtPct(s.cpu_percent);
  cpu.dataset.ts = s.timestamp || '';
  const c = s.cpu;
  const f1 = (v) => (num(v) ? v.toFixed(1) : DASH);
  $('m-cpu-detail').textContent = c
    ? `user ${f1(c.user)} \u00b7 system ${f1(c.system)} \u00b7 iowait ${f1(c.iowait)}` +
      (Array.isArray(c.cores) ? ` \u00b7 ${c.cores.length} cores` : '')
    : '';
  $('m-mem').textContent = fmtPct(s.memory_percent);
  const m = s.memory;
  $('m-mem-detail').textContent = m
    ? `${fmtBytes(m.used_bytes)} of ${fmtBytes(m.total_bytes)}` +
      (m.swap_total_bytes ? ` \u00b7 swap ${fmtBytes(m.swap_used_bytes)} of ${fmtBytes(m.swap_total_bytes)}` : '')
    : '';
  $('m-load').textContent = Array.isArray(s.load) ? s.load.map((v) => (num(v) ? v.toFixed(2) : DASH)).join(' / ') : DASH;
  $('m-uptime').textContent = fmtDuration(s.uptime_s);
  $('m-time').textContent = s.timestamp ? `sample of ${new Date(s.timestamp).toLocaleTimeString()}` : '';

  $('disks').tBodies[0].replaceChildren(...(s.disk_usage || []).map((d) => {
    const fill = el('span', { className: `fill${d.percent >= 90 ? ' high' : ''}` });
    fill.style.width = `${Math.min(100, d.percent)}%`; // CSSOM, which the CSP allows (no style attribute)
    return el('tr', {},
      el('td', { textContent: d.mount, title: `${d.device} (${d.fs})` }),
      el('td', {}, `${fmtBytes(d.used_bytes)} of ${fmtBytes(d.total_bytes)}`, el('span', { className: 'bar' }, fill)),
      el('td', { className: 'num', textContent: fmtPct(d.percent) }));
  }));
  $('network').tBodies[0].replaceChildren(...(s.network || []).map((n) => el('tr', {},
    el('td', { textContent: n.interface }),
    el('td', { className: 'num', textContent: fmtRate(n.rx_bytes_per_s) }),
    el('td', { className: 'num', textContent: fmtRate(n.tx_bytes_per_s) }))));
}

// ---- chart: CPU and memory, 0–100 %, over the last 10 minutes ---------------------------------

function drawChart() {
  const canvas = $('chart');
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return; // not on screen
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const css = getComputedStyle(canvas);
  const color = (name) => css.getPropertyValue(name).trim();
  const left = 44, right = 12, top = 10, bottom = 24;
  const pw = w - left - right, ph = h - top - bottom;
  const newest = state.series.length ? state.series[state.series.length - 1].t : 0;
  const end = Math.max(Date.now(), newest); // an agent clock ahead of ours still shows its newest point
  const x = (t) => left + ((t - (end - WINDOW_MS)) / WINDOW_MS) * pw;
  const y = (v) => top + (1 - Math.min(100, Math.max(0, v)) / 100) * ph;

  g.font = '11px system-ui, sans-serif';
  g.lineWidth = 1;
  g.strokeStyle = color('--grid');
  g.fillStyle = color('--muted');
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const v of [0, 25, 50, 75, 100]) {
    g.beginPath();
    g.moveTo(left, Math.round(y(v)) + 0.5);
    g.lineTo(left + pw, Math.round(y(v)) + 0.5);
    g.stroke();
    g.fillText(`${v} %`, left - 8, y(v));
  }
  g.textBaseline = 'top';
  for (const [min, label, align] of [[10, '-10 min', 'left'], [5, '-5 min', 'center'], [0, 'now', 'right']]) {
    g.textAlign = align;
    g.fillText(label, x(end - min * 60000), top + ph + 8);
  }

  let points = 0;
  for (const [key, name] of [['mem', '--mem'], ['cpu', '--cpu']]) {
    g.strokeStyle = g.fillStyle = color(name);
    g.lineWidth = 2;
    g.lineJoin = 'round';
    g.beginPath();
    let prev = null;
    for (const p of state.series) {
      if (!num(p[key]) || p.t < end - WINDOW_MS) { prev = null; continue; }
      // A gap of over a minute (agent offline) is not bridged by a line.
      if (prev && p.t - prev.t <= 60000) g.lineTo(x(p.t), y(p[key]));
      else g.moveTo(x(p.t), y(p[key]));
      prev = p;
      points++;
    }
    g.stroke();
    if (prev) { // the newest value as a dot
      g.beginPath();
      g.arc(x(prev.t), y(prev[key]), 3, 0, 2 * Math.PI);
      g.fill();
    }
  }
  canvas.dataset.points = String(points);
}
window.addEventListener('resize', drawChart);

// Deferred scripts all run before DOMContentLoaded: by then every panel has registered.
document.addEventListener('DOMContentLoaded', route);
