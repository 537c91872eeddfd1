// The audit log (#/audit, admins only): who dispatched what to which server, and what became of
// it, newest first, a page at a time ("Load more" follows the collector's `next` cursor).
'use strict';

const AUDIT_PAGE = 50;

const aud = {
  open: false,
  next: null,
  loading: false,
  shown: 0,
};

// Whether this user is an admin, learnt by asking for one audit entry: 200 or 403. The answer
// only shows or hides the header link; the collector decides on every request.
async function probeAdmin() {
  const token = state.token;
  let admin = null;
  try {
    await api('GET', '/api/v1/audit?limit=1');
    admin = true;
  } catch (e) {
    if (token !== state.token) return;
    if (e.status === 401) { logout('your session has expired; sign in again'); return; }
    if (e.status === 403) admin = false;
  }
  if (token !== state.token) return; // signed out (or in as someone else) meanwhile
  state.admin = admin;
  $('audit-link').hidden = admin !== true;
}

function openAudit() {
  showView('audit');
  document.title = 'Audit log - Corvid';
  aud.open = true;
  aud.next = null;
  aud.shown = 0;
  $('audit-table').tBodies[0].replaceChildren();
  $('audit-count').textContent = '';
  showError('audit-error', '');
  if (!state.servers.length) // for server names instead of ids
    api('GET', '/api/v1/servers').then((s) => { state.servers = s; renameServers(); }).catch(() => {});
  loadAudit();
}

function closeAudit() {
  if (!aud.open) return;
  aud.open = false;
  aud.next = null;
  $('audit-table').tBodies[0].replaceChildren();
  $('audit-more').hidden = true;
  $('audit-empty').hidden = true;
  document.title = 'Corvid';
}

async function loadAudit() {
  if (aud.loading) return;
  aud.loading = true;
  $('audit-more').disabled = true;
  const before = aud.next;
  try {
    const r = await api('GET', `/api/v1/audit?limit=${AUDIT_PAGE}${before === null ? '' : `&before=${before}`}`);
    if (!aud.open) return;
    const entries = Array.isArray(r.entries) ? r.entries : [];
    $('audit-table').tBodies[0].append(...entries.map(auditRow));
    aud.shown += entries.length;
    aud.next = num(r.next) ? r.next : null;
    $('audit-more').hidden = aud.next === null;
    $('audit-empty').hidden = aud.shown > 0;
    $('audit-count').textContent = `${aud.shown} entr${aud.shown === 1 ? 'y' : 'ies'}${aud.next === null ? '' : ' so far'}`;
    showError('audit-error', '');
  } catch (e) {
    if (aud.open) handleApiError(e, 'audit-error');
  } finally {
    aud.loading = false;
    $('audit-more').disabled = false;
  }
}
$('audit-more').addEventListener('click', loadAudit);

const short = (s, n) => (s && s.length > n ? `${s.slice(0, n)}\u2026` : s || DASH);

function serverLabel(id) {
  const s = state.servers.find((x) => x.id === id);
  return s ? s.name : short(id, 8);
}

function renameServers() {
  for (const td of $('audit-table').querySelectorAll('td[data-server]'))
    td.firstChild.textContent = serverLabel(td.dataset.server);
}

function auditRow(a) {
  const server = el('td', { className: 'nowrap', title: a.server_id || '' },
    a.server_id ? el('a', { href: `#/servers/${a.server_id}`, textContent: serverLabel(a.server_id) }) : DASH);
  if (a.server_id) server.dataset.server = a.server_id;
  // The actor with the address it came from (none for the agent's own entries).
  const actor = el('td', {}, a.actor, a.address ? el('span', { className: 'sub-line mono', textContent: a.address }) : '');
  return el('tr', {},
    el('td', { className: 'nowrap', title: a.at }, new Date(a.at).toLocaleTimeString(),
      el('span', { className: 'sub-line', textContent: new Date(a.at).toLocaleDateString() })),
    actor,
    el('td', { className: 'mono', textContent: a.action }),
    server,
    // The command id ties a command's entries together (dispatched, then finished or lost).
    el('td', { className: 'mono dim cmd-id', textContent: a.command_id ? short(a.command_id, 8) : DASH,
               title: a.command_id || '' }),
    el('td', { className: 'mono detail', textContent: a.detail || DASH }),
    el('td', {}, a.status ? statusBadge(a.status) : DASH),
    el('td', { className: 'num', textContent: num(a.exit_code) ? String(a.exit_code) : DASH }),
    el('td', { className: 'num', textContent: fmtMs(a.duration_ms) }),
    el('td', { className: 'mono dim', textContent: short(a.output_sha256, 12), title: a.output_sha256 || '' }));
}
