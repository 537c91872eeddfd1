// The server view's Logs and Data gaps panels. Logs: the server's log lines live on
// /api/v1/ws/logs/{id} (PROTOCOL.md, section 11.3) under a filter (minimum level, search, source),
// older ones a page at a time from GET …/logs (11.5). Gaps: GET …/gaps, the records the agent's
// spool had to drop during a long outage. Lines hold anything an agent read from a file: they
// reach the page as text nodes only, never as markup.
'use strict';

const LOG_LEVELS = ['DEBUG', 'INFO', 'NOTICE', 'WARN', 'ERROR', 'CRIT'];
const MAX_LOG_LINES = 1000;  // lines (and notes) kept in the page; the oldest go first
const LOG_HISTORY = 200;     // stored lines asked for with each new filter
const OLDER_PAGE = 100;      // lines per "Load older"
const FILTER_DEBOUNCE_MS = 400; // typing in the search box: one subscribe per pause, well within the rate limit
const GAPS_SHOWN = 50;
const GAPS_RECHECK_MS = 5 * 1000; // after the agent comes back: its gap reports follow the reconnect

const lg = {
  // While the server view is open, a new object each time it opens:
  // {serverId, ws, attempt, timer, closed, gen, filter, paused, pending, skipped, tailCut, older,
  //  online, flush, debounce, gapsTimer}
  view: null,
};

// ---- a line ----------------------------------------------------------------------------------

function fmtLogTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const time = `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

// The end of a long path tells files apart best: "…/nginx/error.log". The whole one is the title.
const SOURCE_SHOWN = 28;
function shortSource(source) {
  const s = String(source || '');
  if (!s) return DASH;
  return s.length > SOURCE_SHOWN ? `\u2026${s.slice(-(SOURCE_SHOWN - 1))}` : s;
}

function logLine(e) {
  const level = LOG_LEVELS.includes(e.level) ? e.level : 'INFO';
  const msg = el('span', { className: 'log-msg' }, String(e.message ?? ''));
  if (e.truncated) msg.append(el('span', { className: 'log-cut', textContent: '\u2026', title: 'cut by the agent (too long)' }));
  const line = el('div', { className: `log-line lvl-${level.toLowerCase()}` },
    el('span', { className: 'log-time', textContent: fmtLogTime(e.timestamp), title: e.timestamp || '' }),
    el('span', { className: 'log-level', textContent: level }),
    el('span', { className: 'log-src', textContent: shortSource(e.source), title: e.source || '' }),
    msg);
  line.dataset.ts = e.timestamp || '';
  return line;
}

const logNote = (text) => el('div', { className: 'log-note', textContent: text });

// What identifies an entry among those of one millisecond (see loadOlder).
const entryKey = (e) => `${e.level}\u0000${e.source}\u0000${e.message}`;
function lineKey(line) {
  const [, level, src, msg] = line.children;
  const cut = msg.querySelector('.log-cut');
  return `${level.textContent}\u0000${src.title}\u0000${cut ? msg.firstChild.textContent : msg.textContent}`;
}

// ---- the filter -----------------------------------------------------------------------------

function readFilter() {
  return { level: $('logs-level').value, search: $('logs-search').value, source: $('logs-source').value.trim() };
}
const sameFilter = (a, b) => a.level === b.level && a.search === b.search && a.source === b.source;

// A search is a literal unless it looks like a query (PROTOCOL.md, section 11.4).
const isLiteral = (s) => !/["()]/.test(s) && !s.split(/\s+/).some((w) => ['AND', 'OR', 'NOT'].includes(w) || w.endsWith('*'));
const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

// Whether an entry passes the filter, as far as the page can tell. Entries of the previous filter
// still on their way when a new one was sent are left out this way; a query (not a literal) is
// the collector's to judge alone.
function passesFilter(f, e) {
  const level = LOG_LEVELS.includes(e.level) ? e.level : 'INFO'; // as logLine shows it
  if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(f.level)) return false;
  if (f.source && e.source !== f.source) return false;
  if (f.search && isLiteral(f.search) && !asciiLower(String(e.message)).includes(asciiLower(f.search))) return false;
  return true;
}

function subscribeLogs(v, history) {
  const f = v.filter;
  const sub = { type: 'subscribe', level: f.level, history };
  if (f.search) sub.search = f.search;
  if (f.source) sub.source = f.source;
  v.ws.send(JSON.stringify(sub));
}

// Starts the view over: an empty box, live, the last LOG_HISTORY matching lines, then new ones.
function reloadLogs(v) {
  v.gen++;
  v.paused = false;
  v.pending = [];
  v.skipped = 0;
  v.tailCut = false;
  v.older = { cursor: null, anchor: null, done: false, loading: false };
  $('logs').replaceChildren();
  showError('logs-error', '');
  renderLogState(v);
  if (v.ws && v.ws.readyState === WebSocket.OPEN && v.authed) subscribeLogs(v, LOG_HISTORY);
}

function applyFilter() {
  const v = lg.view;
  if (!v) return;
  clearTimeout(v.debounce);
  const f = readFilter();
  if (sameFilter(f, v.filter)) return;
  v.filter = f;
  reloadLogs(v);
}

$('logs-filter').addEventListener('submit', (ev) => { ev.preventDefault(); applyFilter(); });
$('logs-level').addEventListener('change', applyFilter);
for (const id of ['logs-search', 'logs-source']) {
  $(id).addEventListener('change', applyFilter); // Enter, or leaving the box
  $(id).addEventListener('input', () => {
    const v = lg.view;
    if (!v) return;
    clearTimeout(v.debounce);
    v.debounce = setTimeout(applyFilter, FILTER_DEBOUNCE_MS);
  });
}

// ---- the socket ------------------------------------------------------------------------------

function connectLogs(v) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws/logs/${v.serverId}`);
  v.ws = ws;
  v.authed = false;
  v.link = 'connecting\u2026';
  renderLogState(v);
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: state.token }));
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (!v.closed) onLogMessage(v, msg);
  };
  ws.onclose = () => {
    if (v.closed) return;
    v.ws = null;
    v.authed = false;
    // As the metrics socket: 1 s, 2 s, 4 s … 30 s, with jitter.
    const delay = Math.min(30, 2 ** v.attempt) * (0.5 + Math.random() / 2) * 1000;
    v.attempt++;
    v.link = `connection lost; reconnecting in ${Math.ceil(delay / 1000)} s`;
    renderLogState(v);
    v.timer = setTimeout(() => connectLogs(v), delay);
  };
}

function onLogMessage(v, msg) {
  switch (msg.type) {
  case 'auth_success':
    v.attempt = 0;
    v.authed = true;
    v.link = '';
    if (v.paused) {
      // Keep what the operator is reading; what was missed meanwhile comes back on resume.
      v.tailCut = true;
      subscribeLogs(v, 0);
      renderLogState(v);
    } else {
      reloadLogs(v);
    }
    break;
  case 'log':
    if (msg.data && typeof msg.data === 'object' && passesFilter(v.filter, msg.data)) queueLine(v, logLine(msg.data));
    break;
  case 'dropped':
    if (num(msg.count) && msg.count > 0)
      queueLine(v, logNote(`${msg.count} line${msg.count === 1 ? '' : 's'} dropped (viewer too slow)`));
    break;
  case 'status': {
    const online = !!(msg.data && msg.data.online);
    if (online && v.online === false) { // back after an outage: gaps, if any, are reported now
      refreshGaps();
      clearTimeout(v.gapsTimer);
      v.gapsTimer = setTimeout(refreshGaps, GAPS_RECHECK_MS);
    }
    v.online = online;
    break;
  }
  case 'ping':
    v.ws.send(JSON.stringify({ type: 'pong' }));
    break;
  case 'error':
    if (msg.code === 'auth_failed') {
      logout('your session has expired; sign in again');
    } else if (msg.code === 'not_found') {
      closeLogSocket(v);
      v.link = '';
      renderLogState(v);
    } else if (msg.code === 'invalid_subscription' || msg.code === 'invalid_message') {
      showError('logs-error', `The collector refused this filter: ${msg.message}`);
    } else {
      showError('logs-error', `${msg.code}: ${msg.message}`);
    }
    break;
  default:
    break; // newer message types: ignored (PROTOCOL.md, section 6)
  }
}

function closeLogSocket(v) {
  v.closed = true;
  clearTimeout(v.timer);
  if (v.ws) v.ws.close(1000);
  v.ws = null;
}

// ---- the box: live lines at the bottom, older ones on top, at most MAX_LOG_LINES ----------------

// Lines wait here until the next frame (or, paused, until the operator resumes): one layout per
// frame however fast they come. Bounded like the box: older waiting lines could only be trimmed.
function queueLine(v, node) {
  v.pending.push(node);
  if (v.pending.length > MAX_LOG_LINES) {
    v.pending.shift();
    if (v.paused) v.skipped++;
  }
  if (v.paused) renderLogState(v);
  else if (!v.flush) v.flush = requestAnimationFrame(() => flushLines(v));
}

function flushLines(v) {
  v.flush = 0;
  if (v !== lg.view || v.paused || !v.pending.length) return;
  const box = $('logs');
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  if (v.skipped) box.append(logNote(`${v.skipped} line${v.skipped === 1 ? '' : 's'} not shown (paused too long)`));
  v.skipped = 0;
  box.append(...v.pending);
  v.pending = [];
  const excess = box.childElementCount - MAX_LOG_LINES;
  for (let n = excess; n > 0; n--) box.firstElementChild.remove();
  if (excess > 0) v.older.done = false; // what was trimmed can be loaded again
  if (atBottom) box.scrollTop = box.scrollHeight;
  renderLogState(v);
}

function setPaused(v, paused) {
  if (v.paused === paused) return;
  if (!paused && v.tailCut) { reloadLogs(v); return; } // lines are missing below the box: start over
  v.paused = paused;
  if (!paused && v.pending.length) flushLines(v);
  renderLogState(v);
}

$('logs-live').addEventListener('click', () => { if (lg.view) setPaused(lg.view, !lg.view.paused); });

function renderLogState(v) {
  const live = $('logs-live');
  live.textContent = v.paused ? 'Paused' : 'Live';
  live.setAttribute('aria-pressed', String(!v.paused));
  live.classList.toggle('on', !v.paused);
  const waiting = v.pending.length + v.skipped;
  let text = v.link;
  if (!text && v.paused) text = v.tailCut ? 'paused; newer lines load when you resume'
    : waiting ? `paused; ${waiting} new line${waiting === 1 ? '' : 's'}` : 'paused';
  $('logs-state').textContent = text;
  const older = $('logs-older');
  older.disabled = v.older.loading || v.older.done;
  older.textContent = v.older.done ? 'No older lines' : 'Load older';
  $('logs-empty').hidden = $('logs').childElementCount > 0 || v.pending.length > 0;
}

// The page before the oldest line shown: after the cursor of the previous page while that page's
// oldest line is still the top one; else (lines trimmed, or none loaded yet) up to the top line's
// time, leaving out the entries of that millisecond already shown.
async function loadOlder() {
  const v = lg.view;
  if (!v || v.older.loading || v.older.done) return;
  const gen = v.gen;
  const box = $('logs');
  const top = box.querySelector('.log-line');
  const q = new URLSearchParams({ limit: String(OLDER_PAGE) });
  if (v.filter.level !== 'DEBUG') q.set('level', v.filter.level);
  if (v.filter.search) q.set('search', v.filter.search);
  if (v.filter.source) q.set('source', v.filter.source);
  const seen = new Map(); // entryKey → how many of the top millisecond's lines are shown
  if (v.older.cursor && top && top === v.older.anchor) {
    q.set('cursor', v.older.cursor);
  } else if (top && top.dataset.ts) {
    q.set('to', top.dataset.ts);
    let atTop = 0;
    for (const line of box.querySelectorAll('.log-line')) {
      if (line.dataset.ts !== top.dataset.ts) continue;
      const k = lineKey(line);
      seen.set(k, (seen.get(k) || 0) + 1);
      atTop++;
    }
    // Those are the newest entries of that millisecond (a file's lines often share one): the page
    // reaches past them, so its cursor goes on from below what is shown.
    q.set('limit', String(Math.min(1000, OLDER_PAGE + atTop)));
  }
  v.older.loading = true;
  renderLogState(v);
  try {
    const r = await api('GET', `/api/v1/servers/${v.serverId}/logs?${q}`);
    if (v !== lg.view || gen !== v.gen) return;
    const entries = (Array.isArray(r.entries) ? r.entries : []).filter((e) => {
      const k = entryKey(e);
      if (e.timestamp !== top?.dataset.ts || !seen.get(k)) return true;
      seen.set(k, seen.get(k) - 1);
      return false;
    });
    const lines = entries.reverse().map(logLine); // newest first from the collector
    const before = box.scrollHeight;
    box.prepend(...lines);
    box.scrollTop += box.scrollHeight - before; // what was on screen stays there
    if (box.childElementCount > MAX_LOG_LINES) {
      // The box is full: the newest lines go, and live lines wait until the operator resumes.
      for (let n = box.childElementCount - MAX_LOG_LINES; n > 0; n--) box.lastElementChild.remove();
      v.tailCut = true;
      v.paused = true;
    }
    const first = box.querySelector('.log-line');
    v.older.cursor = typeof r.next === 'string' ? r.next : null;
    v.older.anchor = first;
    v.older.done = v.older.cursor === null;
    showError('logs-error', '');
  } catch (e) {
    if (v === lg.view && gen === v.gen) handleApiError(e, 'logs-error');
  } finally {
    if (v === lg.view && gen === v.gen) {
      v.older.loading = false;
      renderLogState(v);
    }
  }
}
$('logs-older').addEventListener('click', loadOlder);

// ---- data gaps -------------------------------------------------------------------------------

function fmtGapTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

async function refreshGaps() {
  const v = lg.view;
  if (!v) return;
  try {
    const r = await api('GET', `/api/v1/servers/${v.serverId}/gaps?limit=${GAPS_SHOWN}`);
    if (v !== lg.view) return;
    const gaps = Array.isArray(r.gaps) ? r.gaps : [];
    $('gaps').tBodies[0].replaceChildren(...gaps.map((g) => el('tr', {},
      el('td', { textContent: g.from && g.to ? `${fmtGapTime(g.from)} \u2013 ${fmtGapTime(g.to)}` : 'time unknown',
                 title: `reported ${g.reported_at || 'at an unknown time'}` }),
      el('td', { textContent: g.stream }),
      el('td', { className: 'num', textContent: num(g.count) ? String(g.count) : DASH,
                 title: `seq ${g.first_seq} to ${g.last_seq}` }),
      el('td', { className: 'mono', textContent: g.reason }))));
    $('gaps').hidden = gaps.length === 0;
    $('gaps-empty').hidden = gaps.length > 0;
    showError('gaps-error', '');
  } catch (e) {
    if (v === lg.view) handleApiError(e, 'gaps-error');
  }
}

serverPanels.push({
  open(id) {
    const v = { serverId: id, ws: null, attempt: 0, timer: null, closed: false, authed: false, link: '', gen: 0,
                filter: readFilter(), paused: false, pending: [], skipped: 0, tailCut: false,
                older: { cursor: null, anchor: null, done: false, loading: false },
                online: null, flush: 0, debounce: null, gapsTimer: null };
    lg.view = v;
    $('gaps').hidden = true; // until the first answer
    renderLogState(v);
    connectLogs(v);
    refreshGaps();
  },
  close() {
    const v = lg.view;
    if (!v) return;
    lg.view = null;
    closeLogSocket(v);
    clearTimeout(v.debounce);
    clearTimeout(v.gapsTimer);
    cancelAnimationFrame(v.flush);
    $('logs').replaceChildren();
    $('logs-state').textContent = '';
    $('logs-level').value = 'DEBUG';
    $('logs-search').value = $('logs-source').value = '';
    $('gaps').tBodies[0].replaceChildren();
    $('gaps-empty').hidden = true;
    showError('logs-error', '');
    showError('gaps-error', '');
  },
});
