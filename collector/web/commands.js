// The server view's Commands panel: run a shell command on the agent, follow its output live on
// /api/v1/ws/commands/{id}, and read back recent commands (an operator's own; an admin's: all).
// Output may hold anything: it reaches the page as text nodes only, never as markup.
'use strict';

const FINAL_STATUSES = ['completed', 'failed', 'timed_out', 'denied', 'lost'];
const MAX_SHOWN_OUTPUT = 1024 * 1024; // characters kept in the output box; the agent caps far lower
const SETTLE_MS = 15 * 1000;          // how long to wait for a finished command's stored record

const cmd = {
  view: null,       // {serverId} while the server view is open: a new object each time it opens
  shown: null,      // what the output box shows: {id, watch, length}
  generation: 0,    // bumped whenever the box is taken over, so late answers of older work are dropped
  historyTimer: null,
};

// ---- the command socket (also used by containers.js) ------------------------------------------

// Follows one command until the collector closes its socket (or `deadlineMs` passes). onOutput
// gets each command_output frame's (stream, data). `done` resolves with {final, refusal}: the
// command_response/docker_response frame and the error frame, each null if none came.
function watchCommand(id, onOutput, deadlineMs) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws/commands/${id}`);
  let final = null, refusal = null;
  const timer = setTimeout(() => ws.close(1000), deadlineMs);
  const done = new Promise((resolve) => {
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: state.token }));
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.command_id !== undefined && msg.command_id !== id) return;
      if (msg.type === 'command_output') onOutput(msg.stream, typeof msg.data === 'string' ? msg.data : '');
      else if (msg.type === 'command_response' || msg.type === 'docker_response') final = msg;
      else if (msg.type === 'error') refusal = msg;
      else if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
    };
    ws.onclose = () => { clearTimeout(timer); resolve({ final, refusal }); };
  });
  return { done, close: () => ws.close(1000) };
}

// The stored record of a command once it has finished (the socket's last frame may come a little
// before the record is written), or the last one read when `ms` passes first.
async function settledCommand(id, ms = SETTLE_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const rec = await api('GET', `/api/v1/commands/${id}`);
    if (FINAL_STATUSES.includes(rec.status) || Date.now() > end) return rec;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// The status a final frame stands for: the collector's rule (command_tracker.cpp).
function statusOfFinal(f) {
  if (f.type === 'docker_response') return f.error ? 'denied' : f.success ? 'completed' : 'failed';
  if (f.error) return f.error === 'lost' ? 'lost' : 'denied';
  if (f.timed_out) return 'timed_out';
  return f.exit_code === 0 ? 'completed' : 'failed';
}

function fmtMs(ms) {
  if (!num(ms)) return DASH;
  return ms < 1000 ? `${ms} ms` : ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : fmtDuration(ms / 1000);
}

function statusBadge(status, badge = el('span')) {
  badge.textContent = (status || 'unknown').replace('_', ' ');
  badge.className = `badge status-${status || 'unknown'}`;
  return badge;
}

// "docker stop web" for Docker actions (stored as "stop web"), the command line for shell commands.
const commandText = (c) => (c.kind === 'docker' ? `docker ${c.command}` : c.command);

// ---- the output box ---------------------------------------------------------------------------

function takeOverBox(c) {
  if (cmd.shown && cmd.shown.watch) cmd.shown.watch.close();
  cmd.shown = { id: c.command_id, watch: null, length: 0 };
  $('cmd-result').hidden = false;
  $('cmd-shown').textContent = commandText(c);
  $('cmd-output').replaceChildren();
  $('cmd-output').classList.remove('empty');
  showStatus(c.status, []);
  markSelected();
  return ++cmd.generation;
}

function showStatus(status, details) {
  statusBadge(status, $('cmd-status'));
  $('cmd-detail').textContent = details.filter(Boolean).join(' \u00b7 ');
}

// Exit code, duration, truncation and what went wrong, of a stored record or a final frame.
function detailsOf(r) {
  const out = [];
  if (num(r.exit_code) && r.exit_code >= 0) out.push(`exit code ${r.exit_code}`);
  if (num(r.duration_ms)) out.push(fmtMs(r.duration_ms));
  if (r.truncated) out.push('output truncated');
  if (r.type) { // a frame: the refusal ("denied") and the agent's words apart
    if (r.error) out.push(r.message ? `${r.error}: ${r.message}` : r.error);
    else if (r.message) out.push(r.message);
  } else if (r.error) { // a record: "denied: …" already joined
    out.push(r.error);
  }
  return out;
}

// Appends text to the box; consecutive text of one stream goes into one node, stderr in its own
// colour. Keeps the view at the bottom if it was there.
function appendOutput(stream, data) {
  const box = $('cmd-output');
  if (!data || cmd.shown.length >= MAX_SHOWN_OUTPUT) return;
  const room = MAX_SHOWN_OUTPUT - cmd.shown.length;
  const text = data.length > room ? `${data.slice(0, room)}\n[\u2026 display cut at 1 MiB]` : data;
  cmd.shown.length += text.length;
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  const kind = stream === 'stderr' ? 'stderr' : 'stdout';
  const last = box.lastElementChild;
  if (last && last.className === kind) last.firstChild.appendData(text);
  else box.append(el('span', { className: kind }, text));
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function finishBox(rec) {
  if (cmd.shown.length === 0 && rec.output) appendOutput('stdout', rec.output);
  if (cmd.shown.length === 0) $('cmd-output').classList.add('empty');
  showStatus(rec.status, detailsOf(rec));
}

// Streams a command into the box, then shows its stored outcome.
async function follow(c, deadlineMs) {
  const gen = takeOverBox(c);
  showStatus('running', ['waiting for output\u2026']);
  let quiet = true;
  const watch = watchCommand(c.command_id, (stream, data) => {
    if (gen !== cmd.generation) return;
    if (quiet) showStatus('running', []);
    quiet = false;
    appendOutput(stream, data);
  }, deadlineMs);
  cmd.shown.watch = watch;
  const { final, refusal } = await watch.done;
  if (gen !== cmd.generation) return;
  if (refusal && refusal.code === 'auth_failed') { logout('your session has expired; sign in again'); return; }
  if (final) showStatus(statusOfFinal(final), detailsOf(final));
  try {
    const rec = await settledCommand(c.command_id);
    if (gen !== cmd.generation) return;
    if (FINAL_STATUSES.includes(rec.status)) finishBox(rec);
    else if (!final) showStatus(rec.status, ['still running; see Recent commands']);
  } catch (e) {
    if (gen === cmd.generation) handleApiError(e, 'cmd-error');
  }
  refreshHistory();
}

// A command from the history: its stored output, or its live output if it is still running.
async function showCommand(id) {
  const gen = ++cmd.generation;
  showError('cmd-error', '');
  try {
    const rec = await api('GET', `/api/v1/commands/${id}`);
    if (gen !== cmd.generation) return;
    if (FINAL_STATUSES.includes(rec.status)) {
      takeOverBox(rec);
      finishBox(rec);
    } else {
      follow(rec, 10 * 60 * 1000);
    }
  } catch (e) {
    if (gen === cmd.generation) handleApiError(e, 'cmd-error');
  }
}

// ---- running a command ------------------------------------------------------------------------

function dispatchErrorText(e) {
  if (e.status === 409) return 'The agent is offline: the command was not sent.';
  if (e.status === 403) return `Not allowed: ${e.message}.`;
  if (e.status === 429) {
    const s = e.data && num(e.data.retry_after) ? e.data.retry_after : null;
    return s === null ? 'Too many commands: try again later.' : `Too many commands: try again in ${s} s.`;
  }
  return e.message;
}

$('cmd-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const command = $('cmd-input').value;
  const timeout = Number($('cmd-timeout').value);
  if (!command.trim()) { showError('cmd-error', 'Enter a command.'); return; }
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400) {
    showError('cmd-error', 'The timeout is a whole number of seconds, 1 to 86400.');
    return;
  }
  const view = cmd.view;
  if (!view) return;
  $('cmd-run').disabled = true;
  showError('cmd-error', '');
  try {
    const r = await api('POST', `/api/v1/servers/${view.serverId}/commands`, { command, timeout_s: timeout });
    if (view !== cmd.view) return;
    refreshHistory();
    // The agent may cut the timeout; past it and a minute more the record is read instead.
    follow({ command_id: r.command_id, kind: 'shell', command, status: 'pending' }, (timeout + 60) * 1000);
  } catch (e) {
    if (view === cmd.view) handleApiError(e, 'cmd-error', dispatchErrorText(e));
  } finally {
    $('cmd-run').disabled = false;
  }
});

// ---- recent commands --------------------------------------------------------------------------

function markSelected() {
  for (const tr of $('cmd-history').tBodies[0].rows)
    tr.classList.toggle('selected', !!cmd.shown && tr.dataset.id === cmd.shown.id);
}

async function refreshHistory() {
  const view = cmd.view;
  if (!view) return;
  try {
    const r = await api('GET', `/api/v1/servers/${view.serverId}/commands`);
    if (view !== cmd.view) return;
    state.canCommand = true;
    renderHistory(Array.isArray(r.commands) ? r.commands : []);
  } catch (e) {
    if (view !== cmd.view) return;
    if (e.status === 403) { // a viewer: nothing here to use
      state.canCommand = false;
      applyCommandRights();
    } else {
      handleApiError(e, 'cmd-error');
    }
  }
}

function renderHistory(list) {
  $('cmd-history').tBodies[0].replaceChildren(...list.slice(0, 50).map((c) => {
    const open = el('button', { type: 'button', className: 'link mono', textContent: commandText(c),
                                title: 'show the output' });
    open.addEventListener('click', () => showCommand(c.command_id));
    const tr = el('tr', {},
      el('td', { textContent: fmtAgo(c.created_at), title: c.created_at || '' }),
      el('td', { className: 'cmd-cell' }, open),
      el('td', { textContent: c.issued_by }),
      el('td', {}, statusBadge(c.status)),
      el('td', { className: 'num', textContent: num(c.exit_code) && c.exit_code >= 0 ? String(c.exit_code) : DASH }),
      el('td', { className: 'num', textContent: fmtMs(c.duration_ms) }));
    tr.dataset.id = c.command_id;
    return tr;
  }));
  $('cmd-history').hidden = list.length === 0;
  $('cmd-history-empty').hidden = list.length > 0;
  markSelected();
  // Commands still under way (perhaps from another tab): look again shortly.
  clearTimeout(cmd.historyTimer);
  if (list.some((c) => !FINAL_STATUSES.includes(c.status))) cmd.historyTimer = setTimeout(refreshHistory, 3000);
}

// Viewers neither run commands nor act on containers: the panel and the buttons go.
function applyCommandRights() {
  $('server-view').classList.toggle('no-commands', state.canCommand === false);
}

serverPanels.push({
  open(id) {
    cmd.view = { serverId: id };
    applyCommandRights();
    if (state.canCommand !== false) refreshHistory();
  },
  close() {
    cmd.view = null;
    cmd.generation++;
    clearTimeout(cmd.historyTimer);
    if (cmd.shown && cmd.shown.watch) cmd.shown.watch.close();
    cmd.shown = null;
    $('cmd-result').hidden = true;
    $('cmd-output').replaceChildren();
    $('cmd-history').tBodies[0].replaceChildren();
    $('cmd-history-empty').hidden = true;
    showError('cmd-error', '');
  },
});
