// The server view's Containers panel: the containers of the agent's latest sample, and start /
// stop / restart buttons that dispatch a Docker action and report the agent's answer (followed on
// the command socket, see watchCommand in commands.js).
'use strict';

const CONTAINERS_REFRESH_MS = 5 * 1000;
const DOCKER_ACTION_DEADLINE_MS = 2 * 60 * 1000;
const RUNNING_STATES = ['running', 'paused', 'restarting'];

const ctr = {
  view: null,  // {serverId} while the server view is open: a new object each time it opens
  timer: null,
  list: [],
  busy: new Set(),    // containers with an action in flight: their buttons stay disabled
  watches: new Set(), // sockets of those actions, closed when the view goes
};

async function refreshContainers() {
  const view = ctr.view;
  if (!view || view.loading) return;
  view.loading = true;
  try {
    const r = await api('GET', `/api/v1/servers/${view.serverId}/containers`);
    if (view !== ctr.view) return;
    showError('containers-error', '');
    ctr.list = Array.isArray(r.containers) ? r.containers : null;
    $('containers-updated').textContent = r.timestamp ? `as of ${new Date(r.timestamp).toLocaleTimeString()}` : '';
    renderContainers();
  } catch (e) {
    if (view === ctr.view) handleApiError(e, 'containers-error');
  } finally {
    view.loading = false;
  }
}

function renderContainers() {
  const list = ctr.list;
  $('containers-none').hidden = list !== null;
  $('containers-empty').hidden = !(list && list.length === 0);
  $('containers').hidden = !(list && list.length > 0);
  $('containers').tBodies[0].replaceChildren(...(list || []).map((c) => {
    const badge = el('span', { className: `state state-${c.state}`, textContent: c.state || 'unknown' });
    const mem = num(c.memory_bytes)
      ? fmtBytes(c.memory_bytes) + (num(c.memory_limit_bytes) && c.memory_limit_bytes > 0 ? ` of ${fmtBytes(c.memory_limit_bytes)}` : '')
      : DASH;
    const tr = el('tr', {},
      el('td', {}, el('span', { className: 'strong', textContent: c.name || c.id, title: c.id })),
      el('td', { className: 'mono dim', textContent: c.image }),
      el('td', {}, badge, ' ', el('span', { className: 'muted small', textContent: c.status }),
        c.stale ? el('span', { className: 'muted small', textContent: ' (stale)' }) : ''),
      el('td', { className: 'num', textContent: fmtPct(c.cpu_percent) }),
      el('td', { className: 'num', textContent: mem }),
      el('td', { className: 'actions' }, ...actionButtons(c)));
    tr.dataset.container = c.name || c.id;
    return tr;
  }));
}

function actionButtons(c) {
  const running = RUNNING_STATES.includes(c.state);
  return [['start', !running], ['stop', running], ['restart', true]].map(([action, useful]) => {
    const b = el('button', { type: 'button', className: 'secondary small', textContent: action,
                             disabled: !useful || ctr.busy.has(c.id) });
    b.setAttribute('aria-label', `${action} ${c.name || c.id}`);
    b.addEventListener('click', () => containerAction(c, action));
    return b;
  });
}

function showDockerResult(text, ok) {
  const p = $('docker-result');
  p.textContent = text;
  p.className = `note${ok === true ? ' ok' : ok === false ? ' bad' : ''}`;
  p.hidden = !text;
}

async function containerAction(c, action) {
  const label = c.name || c.id;
  if (action !== 'start' && !confirm(`${action[0].toUpperCase()}${action.slice(1)} the container ${label}?`)) return;
  const view = ctr.view;
  // The name reads better in the history and the audit log; Docker takes either.
  const ref = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(c.name || '') ? c.name : c.id;
  ctr.busy.add(c.id);
  renderContainers();
  showDockerResult(`${action} ${label}: sending\u2026`);
  try {
    const r = await api('POST', `/api/v1/servers/${view.serverId}/docker`, { action, container_id: ref });
    if (view !== ctr.view) return;
    showDockerResult(`${action} ${label}: waiting for the agent\u2026`);
    const watch = watchCommand(r.command_id, () => {}, DOCKER_ACTION_DEADLINE_MS);
    ctr.watches.add(watch);
    const { final } = await watch.done;
    ctr.watches.delete(watch);
    if (view !== ctr.view) return;
    let outcome = final;
    if (!outcome) { // no answer on the socket: the stored record says what became of it
      const rec = await settledCommand(r.command_id);
      outcome = { success: rec.status === 'completed', message: rec.output || rec.error || rec.status,
                  error: rec.status === 'denied' || rec.status === 'lost' ? rec.status : undefined };
    }
    const refused = outcome.error ? `${outcome.error}: ` : '';
    showDockerResult(`${action} ${label}: ${refused}${outcome.message || (outcome.success ? 'done' : 'failed')}`,
                     !!outcome.success);
    refreshHistory();
    setTimeout(refreshContainers, 1500); // the agent's next sample shows the new state
  } catch (e) {
    if (view === ctr.view) {
      showDockerResult('', null);
      handleApiError(e, 'containers-error', dispatchErrorText(e));
    }
  } finally {
    ctr.busy.delete(c.id);
    if (view === ctr.view) renderContainers();
  }
}

serverPanels.push({
  open(id) {
    ctr.view = { serverId: id };
    $('containers').hidden = true; // until the first answer
    refreshContainers();
    ctr.timer = setInterval(refreshContainers, CONTAINERS_REFRESH_MS);
  },
  close() {
    ctr.view = null;
    clearInterval(ctr.timer);
    ctr.timer = null;
    for (const w of ctr.watches) w.close();
    ctr.watches.clear();
    ctr.busy.clear();
    ctr.list = [];
    $('containers').tBodies[0].replaceChildren();
    $('containers-none').hidden = $('containers-empty').hidden = true;
    $('containers-updated').textContent = '';
    showError('containers-error', '');
    showDockerResult('', null);
  },
});
