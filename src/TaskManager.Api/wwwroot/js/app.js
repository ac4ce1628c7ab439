// The board's shell: sign-in, project switcher, filters (kept in the URL so a view can be shared), board or table,
// dialogs, and the live stream that keeps every open board current without a reload.
import { html, render, useEffect, useMemo, useRef, useState } from '../lib/standalone.module.js';
import { api, ApiError, listAll, ref as enc, session, whenUnauthorized } from './api.js';
import { LiveStream } from './live.js';
import { columns as toColumns, matches, PRIORITIES, STATUSES } from './order.js';
import { Board } from './board.js';
import { TaskTable } from './table.js';
import { describeEvent, TaskDialog } from './task-dialog.js';
import { ProjectDialog } from './project-dialog.js';

const FLASH_MS = 5000;

function readUrl() {
  const q = new URLSearchParams(location.search);
  return {
    project: q.get('project') ?? '',
    view: q.get('view') === 'table' ? 'table' : 'board',
    filters: { q: q.get('q') ?? '', assignee: q.get('assignee') ?? '', label: q.get('label') ?? '', priority: q.get('priority') ?? '' },
  };
}

function writeUrl({ project, view, filters }) {
  const q = new URLSearchParams();
  if (project) q.set('project', project);
  if (view === 'table') q.set('view', 'table');
  for (const [key, value] of Object.entries(filters)) if (value) q.set(key, value);
  const search = q.toString();
  const url = `${location.pathname}${search ? `?${search}` : ''}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, '', url);
}

function App() {
  const [token, setToken] = useState(session.token);
  const [notice, setNotice] = useState(null);
  useEffect(() => whenUnauthorized(() => {
    session.signOut();
    setNotice('Your token is no longer accepted (revoked or expired). Sign in again.');
    setToken(null);
  }), []);
  if (!token) return html`<${SignIn} notice=${notice} onSignedIn=${t => { setNotice(null); setToken(t); }} />`;
  return html`<${Workspace} key=${token} onSignOut=${() => { session.signOut(); setToken(null); }} />`;
}

function SignIn({ notice, onSignedIn }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const token = value.trim();
    try {
      await api('GET', '/api/me', { token });
      session.signIn(token);
      onSignedIn(token);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401
        ? 'That token was not accepted: it is unknown, revoked or expired.'
        : e.message);
    } finally {
      setBusy(false);
    }
  }
  return html`
    <main class="sign-in">
      <form onSubmit=${submit}>
        <h1><span class="logo" aria-hidden="true">▦</span> TaskManager</h1>
        <p>The board where people and AI agents share the work. Sign in with an access token: the admin token that
          <code>bash eng/run.sh</code> printed (in <code>.local/admin-token</code>), or one an admin created for you.</p>
        ${notice && html`<p class="notice" role="status">${notice}</p>`}
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <label>Access token<input type="password" value=${value} onInput=${e => setValue(e.target.value)}
          autocomplete="current-password" required /></label>
        <button type="submit" disabled=${busy || !value.trim()}>Sign in</button>
        <p class="muted">The token stays in this browser until you sign out.</p>
      </form>
    </main>`;
}

function Workspace({ onSignOut }) {
  const initial = useMemo(readUrl, []);
  const [me, setMe] = useState(null);
  const [actors, setActors] = useState(new Map());
  const [projects, setProjects] = useState(null);
  const [showArchived, setShowArchived] = useState(false);
  const [projectKey, setProjectKey] = useState(initial.project);
  const [view, setView] = useState(initial.view);
  const [filters, setFilters] = useState(initial.filters);
  const [tasks, setTasks] = useState(new Map());
  const [loading, setLoading] = useState(false);
  const [pending, setPending] = useState(new Map());
  const [flashes, setFlashes] = useState(new Map());
  const [dialog, setDialog] = useState(null);
  const [liveChange, setLiveChange] = useState(null);
  const [live, setLive] = useState('connecting');
  const [message, setMessage] = useState(null);
  const [alert, setAlert] = useState(null);
  const focusRef = useRef(null);
  const state = useRef({});
  state.current = { me, actors, tasks, projectKey, dialog, showArchived, projects };

  const project = projects?.find(p => p.key === projectKey) ?? null;

  const toast = text => { setMessage(text); setTimeout(() => setMessage(m => (m === text ? null : m)), 4000); };
  const fail = text => { setAlert(text); setTimeout(() => setAlert(a => (a === text ? null : a)), 8000); };

  const loadActors = () => api('GET', '/api/actors').then(list => setActors(new Map(list.map(a => [a.name, a.kind])))).catch(() => {});
  // Reads the checkbox through state.current: the live stream's handler would otherwise see its first value forever.
  const loadProjects = () => listAll('/api/projects', state.current.showArchived ? { includeArchived: 'true' } : {})
    .then(list => { state.current.projects = list; setProjects(list); }).catch(e => fail(e.message));

  useEffect(() => { api('GET', '/api/me').then(setMe).catch(() => {}); loadActors(); }, []);
  useEffect(() => { loadProjects(); }, [showArchived]);
  useEffect(() => {
    if (!projects || projects.some(p => p.key === projectKey)) return;
    const first = projects[0]?.key ?? '';
    if (projectKey && !state.current.showArchived) {
      // A shared link to an archived project opens it, with archived projects shown, instead of another project.
      api('GET', `/api/projects/${enc(projectKey)}`)
        .then(p => (p.archivedAt ? setShowArchived(true) : setProjectKey(first)))
        .catch(() => setProjectKey(first));
    } else {
      setProjectKey(first);
    }
  }, [projects]);
  useEffect(() => writeUrl({ project: projectKey, view, filters }), [projectKey, view, filters]);

  /**
   * Puts tasks read from the api on the board (or takes them off), never replacing a newer copy with an older one:
   * reads and live refetches overlap, and the last answer to arrive is not always the newest.
   */
  const removed = useRef(new Map());
  function keep(next, task) {
    const known = next.get(task.id)?.version ?? removed.current.get(task.id) ?? -1;
    if (known > task.version) return;
    if (task.archivedAt || task.projectKey !== state.current.projectKey) {
      next.delete(task.id);
      removed.current.set(task.id, task.version);
    } else {
      next.set(task.id, task);
      removed.current.delete(task.id);
    }
  }

  const loadedKey = useRef(null);
  async function loadTasks(key) {
    if (!key) return setTasks(new Map());
    setLoading(true);
    const started = performance.now();
    try {
      // An archived project's tasks are hidden from plain lists; its board still shows them (read-only).
      const archived = state.current.projects?.find(p => p.key === key)?.archivedAt;
      const list = (await listAll('/api/tasks', archived ? { project: key, includeArchived: 'true' } : { project: key }))
        .filter(t => !t.archivedAt);
      if (state.current.projectKey !== key) return;
      // Merged with what live refetches brought in meanwhile: a task moved or renamed while the pages were read is
      // newer there (or missing from the pages, when it moved behind the cursor).
      setTasks(current => {
        const next = new Map(list.map(t => [t.id, t]));
        for (const task of current.values()) {
          if ((next.get(task.id)?.version ?? -1) < task.version) next.set(task.id, task);
        }
        return next;
      });
      loadedKey.current = key;
      document.body.dataset.loadMs = String(Math.round(performance.now() - started));
    } catch (e) {
      fail(e.message);
    } finally {
      if (state.current.projectKey === key) setLoading(false);
    }
  }

  // Live: subscribe first, then read the board, so that nothing committed in between is missed.
  const refetch = useRef({ ids: new Set(), timer: null });
  function queueRefetch(ids) {
    const queue = refetch.current;
    ids.forEach(id => queue.ids.add(id));
    clearTimeout(queue.timer);
    queue.timer = setTimeout(async () => {
      const batch = [...queue.ids];
      queue.ids.clear();
      const results = await Promise.all(batch.map(id => api('GET', `/api/tasks/${enc(id)}`).catch(e => (e.status === 404 ? { id, gone: true } : null))));
      // A read that failed (network down, server busy) is tried again: the board must not stay stale.
      const failed = batch.filter((_, i) => results[i] === null);
      if (failed.length > 0) setTimeout(() => queueRefetch(failed), 2000);
      // A task that changed parent changes both parents' subtask progress.
      const parents = results.filter(t => t && !t.gone).flatMap(t => {
        const before = state.current.tasks.get(t.id);
        return before && before.parentId !== t.parentId ? [before.parentId, t.parentId].filter(Boolean) : [];
      });
      if (parents.length > 0) queueRefetch(parents);
      setTasks(current => {
        const next = new Map(current);
        for (const task of results) {
          if (task?.gone) next.delete(task.id);
          else if (task) keep(next, task);
        }
        return next;
      });
      const open = state.current.dialog;
      for (const task of results) {
        if (task && !task.gone && open?.ref && (open.ref === task.ref || open.ref === task.id)) {
          setLiveChange({ ...task, eventId: Date.now(), actor: task.updatedBy });
        }
      }
    }, 60);
  }

  // Heartbeats renew leases without an event (they would flood history): the cards under a lease are read again now and
  // then, so that their time left and last heartbeat stay true.
  useEffect(() => {
    const timer = setInterval(() => {
      const leased = [...state.current.tasks.values()].filter(t => t.lease).map(t => t.id);
      if (leased.length > 0 && document.visibilityState === 'visible') queueRefetch(leased);
    }, 30000);
    return () => clearInterval(timer);
  }, []);

  function onEvent(event) {
    const { me, actors, tasks, projectKey } = state.current;
    if (event.actor && !actors.has(event.actor)) loadActors();
    if (event.kind.startsWith('project.')) {
      loadProjects();
      // Archiving or restoring hides or shows the project's tasks in plain lists: read them again.
      if (event.projectKey === projectKey && (event.kind === 'project.archived' || event.kind === 'project.restored')) loadTasks(projectKey);
    }
    if (!event.taskId) return;
    // Tasks on this board that the change blocks or unblocks, whichever project it happened in.
    const affected = new Set();
    for (const id of event.data?.dependents ?? []) if (tasks.has(id)) affected.add(id);
    for (const t of tasks.values()) if (t.blockedBy.includes(event.taskRef)) affected.add(t.id);
    if (event.projectKey !== projectKey) {
      if (affected.size > 0) queueRefetch(affected);
      return;
    }
    affected.add(event.taskId);
    // Subtask progress of the parent: a new subtask is not on the board yet, so its event names the parent.
    for (const parent of [event.data?.parentId, tasks.get(event.taskId)?.parentId, event.data?.changes?.parentId?.old, event.data?.changes?.parentId?.new]) {
      if (parent) affected.add(parent);
    }
    // The api renumbered the column: every position on the board is out of date.
    if (event.data?.rebalanced) loadTasks(projectKey);
    queueRefetch(affected);
    if (event.kind === 'comment.added' && state.current.dialog?.ref === event.taskRef) {
      setLiveChange(change => ({ ...(change ?? {}), version: -1, eventId: event.id }));
    }
    if (me && event.actor !== me.name) {
      setFlashes(current => new Map(current).set(event.taskId, { actor: event.actor, what: describeEvent(event), at: Date.now() }));
      setTimeout(() => setFlashes(current => {
        const flash = current.get(event.taskId);
        if (!flash || Date.now() - flash.at < FLASH_MS - 50) return current;
        const next = new Map(current);
        next.delete(event.taskId);
        return next;
      }), FLASH_MS);
    }
  }

  useEffect(() => {
    if (!projectKey) return undefined;
    setTasks(new Map());
    removed.current.clear();
    loadedKey.current = null;
    const liveStream = new LiveStream({
      onEvent: e => onEvent(e),
      onState: setLive,
      onOpen: firstTime => { if (firstTime) loadTasks(projectKey); },
      onUnauthorized: () => { session.signOut(); onSignOut(); },
    });
    liveStream.start();
    // A stream that cannot open (a proxy that buffers it, a failing ticket) must not keep the board empty: read it
    // anyway, and again once the stream opens.
    const fallback = setTimeout(() => { if (loadedKey.current !== projectKey) loadTasks(projectKey); }, 3000);
    return () => { clearTimeout(fallback); liveStream.stop(); };
  }, [projectKey]);

  useEffect(() => {
    if (!focusRef.current) return;
    // Back to the moved card, unless the user has gone on to something else meanwhile.
    const active = document.activeElement;
    if (!active || active === document.body || active.matches('li[data-ref]')) {
      document.querySelector(`li[data-ref="${CSS.escape(focusRef.current)}"]`)?.focus();
    }
    focusRef.current = null;
  });

  const visible = useMemo(() => [...tasks.values()].filter(t => matches(t, filters)), [tasks, filters]);
  const columns = useMemo(() => applyPending(toColumns(visible), pending), [visible, pending]);
  const refs = useMemo(() => new Map([...tasks.values()].map(t => [t.id, t.ref])), [tasks]);

  // Moves of one card run one after another, each with the version the previous one returned: pressing a move key
  // twice quickly moves the card twice instead of failing the second move on a stale version.
  const moves = useRef({ chains: new Map(), versions: new Map(), next: 0 });
  function move(taskRef, status, before, after, { focus } = {}) {
    const task = [...tasks.values()].find(t => t.ref === taskRef);
    if (!task) return;
    const id = ++moves.current.next;
    if (focus) focusRef.current = taskRef;
    setPending(current => new Map(current).set(taskRef, { id, status, before, after }));
    const previous = moves.current.chains.get(taskRef) ?? Promise.resolve();
    const run = previous.then(() => sendMove(task, id, status, before, after, focus));
    moves.current.chains.set(taskRef, run);
    run.then(() => { if (moves.current.chains.get(taskRef) === run) moves.current.chains.delete(taskRef); });
  }

  async function sendMove(task, id, status, before, after, focus) {
    const taskRef = task.ref;
    const body = { status };
    if (before) body.before = before;
    else if (after) body.after = after;
    const done = () => setPending(current => {
      if (current.get(taskRef)?.id !== id) return current;
      const next = new Map(current);
      next.delete(taskRef);
      return next;
    });
    const version = Math.max(task.version, moves.current.versions.get(taskRef) ?? 0);
    try {
      const moved = await api('POST', `/api/tasks/${enc(taskRef)}/move`, { body, version });
      moves.current.versions.set(taskRef, moved.version);
      setTasks(current => { const next = new Map(current); keep(next, moved); return next; });
      done();
      if (focus) focusRef.current = taskRef;
      toast(`Moved ${taskRef} to ${STATUSES.find(s => s.key === moved.status).label}.`);
    } catch (e) {
      done();
      if (focus) focusRef.current = taskRef;
      fail(`${taskRef} was not moved: ${e.message}`);
      if (e instanceof ApiError && e.status === 412) queueRefetch([task.id]);
    }
  }

  function saved(task) {
    setTasks(current => { const next = new Map(current); keep(next, task); return next; });
    if (task.parentId) queueRefetch([task.parentId]);
  }

  async function setArchived(archived) {
    try {
      const saved = await api('POST', `/api/projects/${enc(project.key)}/${archived ? 'archive' : 'restore'}`, { version: project.version });
      toast(archived ? `Archived ${saved.key}. Tick “Show archived projects” to find it again.` : `Restored ${saved.key}.`);
      if (archived && !showArchived) setProjectKey('');
      await loadProjects();
    } catch (e) {
      fail(e.message);
    }
  }

  const assignees = [...new Set([...tasks.values()].map(t => t.assignee).filter(Boolean))].sort();
  const labels = [...new Set([...tasks.values()].flatMap(t => t.labels))].sort();
  const setFilter = key => event => setFilters({ ...filters, [key]: event.target.value });
  const filtered = Object.values(filters).some(Boolean);

  return html`
    <header class="top">
      <h1 class="brand"><span class="logo" aria-hidden="true">▦</span> TaskManager</h1>
      <div class="project-bar">
        <label class="project-picker">Project
          <select value=${projectKey} onChange=${e => { setProjectKey(e.target.value); setDialog(null); }}>
            ${projects?.length === 0 && html`<option value="">No projects yet</option>`}
            ${projects?.map(p => html`<option value=${p.key}>${p.key} — ${p.title}${p.archivedAt ? ' (archived)' : ''}</option>`)}
          </select>
        </label>
        <button type="button" class="secondary" onClick=${() => setDialog({ kind: 'project' })}>New project</button>
        ${project && html`
          <button type="button" class="secondary" onClick=${() => setDialog({ kind: 'project', project })}>Edit project</button>
          ${project.archivedAt
            ? html`<button type="button" class="secondary" onClick=${() => setArchived(false)}>Restore project</button>`
            : html`<button type="button" class="secondary" onClick=${() => setArchived(true)}>Archive project</button>`}`}
        <label class="check"><input type="checkbox" checked=${showArchived} onChange=${e => setShowArchived(e.target.checked)} />
          Show archived projects</label>
      </div>
      <div class="session">
        <span class=${`live ${live}`} data-testid="live" role="status">${live === 'live' ? 'Live' : 'Reconnecting…'}</span>
        <span data-testid="actor" class="actor">${me?.name}${me?.kind === 'agent' ? ' (agent)' : ''}</span>
        <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    <main>
      ${project && html`
        <div class="toolbar" role="search">
          <button type="button" onClick=${() => setDialog({ kind: 'task' })} disabled=${!!project.archivedAt}>New task</button>
          <label>Search<input type="search" value=${filters.q} onInput=${setFilter('q')} /></label>
          <label>Assignee<input value=${filters.assignee} onInput=${setFilter('assignee')} list="assignee-options" /></label>
          <label>Label<input value=${filters.label} onInput=${setFilter('label')} list="label-options" /></label>
          <label>Priority<select value=${filters.priority} onChange=${setFilter('priority')}>
            <option value="">Any priority</option>
            ${PRIORITIES.map(p => html`<option value=${p}>${p}</option>`)}</select></label>
          ${filtered && html`<button type="button" class="link" onClick=${() => setFilters({ q: '', assignee: '', label: '', priority: '' })}>Clear filters</button>`}
          <div class="view-switch" role="group" aria-label="View">
            <button type="button" aria-pressed=${view === 'board'} onClick=${() => setView('board')}>Board</button>
            <button type="button" aria-pressed=${view === 'table'} onClick=${() => setView('table')}>Table</button>
          </div>
        </div>
        <datalist id="assignee-options">${[...new Set([...assignees, ...actors.keys()])].map(a => html`<option value=${a} />`)}</datalist>
        <datalist id="label-options">${labels.map(l => html`<option value=${l} />`)}</datalist>
        ${project.description && html`<p class="project-description">${project.description}</p>`}
        ${loading && tasks.size === 0 ? html`<p class="muted" role="status">Loading ${project.key}…</p>`
          : view === 'board'
            ? html`<${Board} columns=${columns} refs=${refs} actors=${actors} flashes=${flashes} onOpen=${r => setDialog({ kind: 'task', ref: r })} onMove=${move}
                            doneByPeopleOnly=${project.doneByPeopleOnly} />`
            : html`<${TaskTable} tasks=${visible} actors=${actors} onOpen=${r => setDialog({ kind: 'task', ref: r })} />`}`}
      ${projects?.length === 0 && html`
        <section class="empty">
          <h2>No projects yet</h2>
          <p>A project holds a board of tasks, e.g. <code>WEB</code> for the website.</p>
          <button type="button" onClick=${() => setDialog({ kind: 'project' })}>Create your first project</button>
        </section>`}
    </main>
    <div class="toasts">
      <div role="status" aria-live="polite">${message && html`<p class="toast" data-testid="message">${message}</p>`}</div>
      <div role="alert">${alert && html`<p class="toast error" data-testid="toast">${alert}
        <button type="button" class="link" onClick=${() => setAlert(null)}>Dismiss</button></p>`}</div>
    </div>
    ${dialog?.kind === 'task' && html`
      <${TaskDialog} key=${dialog.ref ?? 'new'} project=${projectKey} taskRef=${dialog.ref} tasksById=${tasks} actors=${actors}
        liveChange=${liveChange} onClose=${() => { setDialog(null); setLiveChange(null); }} onSaved=${saved}
        onOpen=${r => { setLiveChange(null); setDialog({ kind: 'task', ref: r }); }} toast=${toast} />`}
    ${dialog?.kind === 'project' && html`
      <${ProjectDialog} project=${dialog.project} onClose=${() => setDialog(null)}
        onSaved=${p => { loadProjects(); setProjectKey(p.key); toast(`Saved project ${p.key}.`); }} />`}`;
}

/** Shows moves that the api has not confirmed yet where the user dropped them (undone if refused). */
function applyPending(columns, pending) {
  if (pending.size === 0) return columns;
  const next = Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, [...v]]));
  for (const [taskRef, move] of pending) {
    let task = null;
    for (const list of Object.values(next)) {
      const index = list.findIndex(t => t.ref === taskRef);
      if (index >= 0) [task] = list.splice(index, 1);
    }
    if (!task) continue;
    const target = next[move.status];
    const anchor = move.before ?? move.after;
    const at = anchor ? target.findIndex(t => t.ref === anchor) : -1;
    const index = at < 0 ? target.length : move.before ? at : at + 1;
    target.splice(index, 0, { ...task, status: move.status });
  }
  return next;
}

render(html`<${App} />`, document.getElementById('app'));
