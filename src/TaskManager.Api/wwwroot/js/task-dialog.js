// Create and edit a task: every field, its subtasks, blockers, work log and history. Saving sends only the fields
// you changed, with the version you started from: if someone else changed the task meanwhile you see their version
// and choose, and nothing is overwritten silently.
import { html, useEffect, useRef, useState } from '../lib/standalone.module.js';
import { api, ApiError, listAll, ref as enc } from './api.js';
import { renderMarkdown } from './markdown.js';
import { PRIORITIES, STATUSES } from './order.js';
import { Assignee } from './board.js';
import { Modal } from './modal.js';

const FIELDS = ['title', 'description', 'status', 'priority', 'assignee', 'labels', 'dueDate', 'parent'];

function formOf(task, parentRef) {
  return {
    title: task?.title ?? '',
    description: task?.description ?? '',
    status: task?.status ?? 'todo',
    priority: task?.priority ?? 'medium',
    assignee: task?.assignee ?? '',
    labels: (task?.labels ?? []).join(', '),
    dueDate: task?.dueDate ?? '',
    parent: parentRef ?? '',
  };
}

/** The request body for the fields that differ from `base`. */
function changes(form, base) {
  const body = {};
  for (const field of FIELDS) {
    if (form[field] === base[field]) continue;
    const value = form[field].trim();
    if (field === 'labels') body.labels = value ? value.split(',').map(l => l.trim()).filter(Boolean) : [];
    else if (field === 'title' || field === 'status' || field === 'priority') body[field] = value;
    else if (field === 'description') body.description = form.description;
    else body[field] = value || null;
  }
  return body;
}

export function TaskDialog({ project, taskRef, tasksById, actors, liveChange, onClose, onSaved, onOpen, toast }) {
  const isNew = !taskRef;
  const [task, setTask] = useState(null);
  const [base, setBase] = useState(formOf(null, null));
  const [form, setForm] = useState(formOf(null, null));
  const [error, setError] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState(false);
  const title = useRef(null);

  const parentRefOf = t => (t?.parentId ? tasksById.get(t.parentId)?.ref ?? '' : '');

  async function load() {
    const current = await api('GET', `/api/tasks/${enc(taskRef)}`);
    const values = formOf(current, parentRefOf(current) || (current.parentId ? await parentRef(current.parentId) : ''));
    setTask(current);
    setBase(values);
    setForm(values);
    setConflict(null);
    return current;
  }

  useEffect(() => {
    if (isNew) {
      title.current?.focus();
      return;
    }
    load().catch(e => setError(e.message));
  }, [taskRef]);

  // Someone else changed the open task: show it before the user saves over it.
  useEffect(() => {
    if (!liveChange || !task || liveChange.version <= task.version) return;
    if (Object.keys(changes(form, base)).length === 0) {
      load().catch(e => setError(e.message));
    } else {
      setConflict({ actor: liveChange.actor, current: liveChange });
    }
  }, [liveChange]);

  const set = field => event => setForm({ ...form, [field]: event.target.value });

  async function save(event, overwriteVersion) {
    event?.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (isNew) {
        const body = { project, ...changes(form, formOf(null, null)), title: form.title.trim() };
        const created = await api('POST', '/api/tasks', { body });
        onSaved(created);
        onClose();
        toast(`Created ${created.ref}.`);
        return;
      }
      const body = changes(form, base);
      if (Object.keys(body).length === 0) return onClose();
      const saved = await api('PATCH', `/api/tasks/${enc(task.ref)}`, { body, version: overwriteVersion ?? task.version });
      onSaved(saved);
      onClose();
      toast(`Saved ${saved.ref}.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        try {
          const current = await api('GET', `/api/tasks/${enc(task.ref)}`);
          setConflict({ actor: current.updatedBy, current });
        } catch (reread) {
          setError(reread.message);
        }
      } else {
        setError(e.message);
      }
    } finally {
      setBusy(false);
    }
  }

  async function archive() {
    try {
      const archived = await api('POST', `/api/tasks/${enc(task.ref)}/archive`, { version: task.version });
      onSaved(archived);
      onClose();
      toast(`Archived ${archived.ref}.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        await load().catch(() => {});
        setError(`${task.ref} was changed by someone else meanwhile and is shown as it is now: check it, then archive again.`);
      } else {
        setError(e.message);
      }
    }
  }

  const name = isNew ? 'New task' : task?.ref ?? taskRef;
  return html`
    <${Modal} label=${name} onClose=${onClose} wide>
      <form class="task-form" onSubmit=${save} novalidate>
        <header class="dialog-header">
          <h2 id="dialog-title">${name}</h2>
          ${task && html`<span class="muted">v${task.version} · updated by ${task.updatedBy}</span>`}
        </header>
        ${conflict && html`
          <div class="conflict" role="alert">
            <p><strong>${conflict.current.ref} was changed by ${conflict.actor}</strong> while you were editing
              (now version ${conflict.current.version}). Their title: “${conflict.current.title}”, status
              ${conflict.current.status}, assignee ${conflict.current.assignee ?? 'nobody'}.</p>
            <div class="actions">
              <button type="button" onClick=${() => save(null, conflict.current.version)}>Overwrite with my changes</button>
              <button type="button" class="secondary" onClick=${() => load().catch(e => setError(e.message))}>Discard my changes</button>
            </div>
          </div>`}
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <fieldset class="fields" disabled=${!isNew && !task} aria-busy=${!isNew && !task}>
        <label>Title<input ref=${title} value=${form.title} onInput=${set('title')} required maxlength="200" /></label>
        <div class="description-field">
          <label for="task-description">Description</label>
          <button type="button" class="link" aria-pressed=${preview} onClick=${() => setPreview(!preview)}>
            ${preview ? 'Edit' : 'Preview'}</button>
        </div>
        ${preview
          ? html`<div class="markdown preview" data-testid="description-preview"
                     dangerouslySetInnerHTML=${{ __html: renderMarkdown(form.description) }}></div>`
          : html`<textarea id="task-description" rows="6" value=${form.description} onInput=${set('description')}></textarea>`}
        <div class="grid">
          <label>Status<select value=${form.status} onChange=${set('status')}>
            ${STATUSES.map(s => html`<option value=${s.key}>${s.label}</option>`)}</select></label>
          <label>Priority<select value=${form.priority} onChange=${set('priority')}>
            ${PRIORITIES.map(p => html`<option value=${p}>${p}</option>`)}</select></label>
          <label>Assignee<input value=${form.assignee} onInput=${set('assignee')} list="assignee-options" /></label>
          <label>Due date<input type="date" value=${form.dueDate} onInput=${set('dueDate')} /></label>
          <label>Labels<input value=${form.labels} onInput=${set('labels')} placeholder="api, docs" /></label>
          <label>Parent<input value=${form.parent} onInput=${set('parent')} placeholder="KEY-n" /></label>
        </div>
        </fieldset>
        <div class="actions">
          <button type="submit" disabled=${busy}>Save</button>
          <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
          ${task && !task.archivedAt && html`<button type="button" class="danger" onClick=${archive}>Archive task</button>`}
        </div>
      </form>
      ${task && !isNew && html`
        ${!preview && form.description && html`
          <section aria-labelledby="rendered-heading" class="rendered">
            <h3 id="rendered-heading" class="visually-hidden">Description as shown</h3>
            <div class="markdown" data-testid="description-preview"
                 dangerouslySetInnerHTML=${{ __html: renderMarkdown(base.description) }}></div>
          </section>`}
        <${Subtasks} task=${task} tasksById=${tasksById} project=${project} onOpen=${onOpen} onSaved=${onSaved} />
        <${Blockers} task=${task} onChanged=${t => { setTask(t); onSaved(t); }} />
        <${Handoffs} task=${task} version=${liveChange?.eventId} />
        <${Comments} task=${task} actors=${actors} version=${liveChange?.eventId} />
        <${History} task=${task} version=${liveChange?.eventId} />`}
    <//>`;
}

async function parentRef(id) {
  try { return (await api('GET', `/api/tasks/${enc(id)}`)).ref; } catch { return ''; }
}

function Subtasks({ task, tasksById, project, onOpen, onSaved }) {
  const [title, setTitle] = useState('');
  const [error, setError] = useState(null);
  const subtasks = [...tasksById.values()].filter(t => t.parentId === task.id);
  async function add(event) {
    event.preventDefault();
    setError(null);
    try {
      onSaved(await api('POST', '/api/tasks', { body: { project, title: title.trim(), parent: task.ref } }));
      setTitle('');
    } catch (e) { setError(e.message); }
  }
  return html`
    <section aria-labelledby="subtasks-heading">
      <h3 id="subtasks-heading">Subtasks <span class="muted">${task.subtasks.done}/${task.subtasks.total} done</span></h3>
      <ul class="plain">${subtasks.map(s => html`
        <li key=${s.id}><button type="button" class="link" onClick=${() => onOpen(s.ref)}>${s.ref}</button>
          ${' '}${s.title} <span class="muted">(${s.status})</span></li>`)}</ul>
      <form class="inline" onSubmit=${add}>
        <label>New subtask title<input value=${title} onInput=${e => setTitle(e.target.value)} /></label>
        <button type="submit" disabled=${!title.trim()}>Add subtask</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>`;
}

function Blockers({ task, onChanged }) {
  const [blockers, setBlockers] = useState([]);
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const reload = () => api('GET', `/api/tasks/${enc(task.ref)}/blockers`).then(setBlockers).catch(e => setError(e.message));
  useEffect(() => { reload(); }, [task.id, task.version]);
  async function add(event) {
    event.preventDefault();
    setError(null);
    try {
      await api('POST', `/api/tasks/${enc(task.ref)}/blockers`, { body: { blocker: value.trim() } });
      setValue('');
      onChanged(await api('GET', `/api/tasks/${enc(task.ref)}`));
    } catch (e) { setError(e.message); }
  }
  async function remove(blocker) {
    setError(null);
    try {
      await api('DELETE', `/api/tasks/${enc(task.ref)}/blockers/${enc(blocker.ref)}`);
      onChanged(await api('GET', `/api/tasks/${enc(task.ref)}`));
    } catch (e) { setError(e.message); }
  }
  return html`
    <section aria-labelledby="blockers-heading">
      <h3 id="blockers-heading">Blocked by</h3>
      ${blockers.length === 0 ? html`<p class="muted">Nothing blocks this task.</p>` : html`
        <ul class="plain">${blockers.map(b => html`
          <li key=${b.id}><span class=${b.status === 'done' ? 'muted' : ''}>${b.ref} ${b.title} (${b.status})</span>
            <button type="button" class="link" aria-label=${`Remove blocker ${b.ref}`} onClick=${() => remove(b)}>Remove</button></li>`)}
        </ul>`}
      <form class="inline" onSubmit=${add}>
        <label>Blocker<input value=${value} onInput=${e => setValue(e.target.value)} placeholder="KEY-n" /></label>
        <button type="submit" disabled=${!value.trim()}>Add blocker</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>`;
}

function Comments({ task, actors, version }) {
  const [comments, setComments] = useState([]);
  const [body, setBody] = useState('');
  const [error, setError] = useState(null);
  const reload = () => listAll(`/api/tasks/${enc(task.ref)}/comments`).then(setComments).catch(e => setError(e.message));
  useEffect(() => { reload(); }, [task.id, version]);
  async function add(event) {
    event.preventDefault();
    setError(null);
    try {
      await api('POST', `/api/tasks/${enc(task.ref)}/comments`, { body: { body } });
      setBody('');
      reload();
    } catch (e) { setError(e.message); }
  }
  return html`
    <section aria-labelledby="comments-heading">
      <h3 id="comments-heading">Comments</h3>
      <ol class="plain comments">${comments.map(c => html`
        <li key=${c.id}><div class="comment-meta"><${Assignee} name=${c.author} actors=${actors} />
          <time datetime=${c.createdAt}>${new Date(c.createdAt).toLocaleString()}</time></div>
          <div class="markdown" dangerouslySetInnerHTML=${{ __html: renderMarkdown(c.body) }}></div></li>`)}</ol>
      <form onSubmit=${add}>
        <label>Comment<textarea rows="3" value=${body} onInput=${e => setBody(e.target.value)}></textarea></label>
        <button type="submit" disabled=${!body.trim()}>Add comment</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>`;
}

function describeValue(value) {
  if (value === null || value === undefined || value === '') return '∅';
  if (Array.isArray(value)) return value.length ? value.join(', ') : '∅';
  if (typeof value === 'object') return JSON.stringify(value);
  const text = String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

export function describeEvent(event) {
  const data = event.data ?? {};
  if (data.changes && event.kind !== 'lease.expired' && event.kind !== 'task.released') {
    return Object.entries(data.changes).map(([field, c]) => `${field}: ${describeValue(c.old)} → ${describeValue(c.new)}`).join('; ');
  }
  switch (event.kind) {
    case 'task.created': return `created “${describeValue(data.title)}”`;
    case 'task.moved': return data.before ? `moved before ${data.before}` : data.after ? `moved after ${data.after}` : 'moved';
    case 'comment.added': return 'commented';
    case 'dependency.added': return `blocked by ${describeValue(data.blocker ?? data.blockerRef)}`;
    case 'dependency.removed': return `no longer blocked by ${describeValue(data.blocker ?? data.blockerRef)}`;
    case 'task.ready': return `ready: ${describeValue(data.unblockedBy)} is out of its way`;
    case 'lease.expired': return `${describeValue(data.holder)}'s lease expired: back to todo`;
    case 'task.released': return `released it: “${describeValue(data.summary)}”`;
    default: return event.kind.replace('.', ' ');
  }
}

/** Handoff notes left by those who released the task: what was done, what is left, where. Newest first. */
function Handoffs({ task, version }) {
  const [notes, setNotes] = useState([]);
  useEffect(() => {
    api('GET', `/api/tasks/${enc(task.ref)}/handoffs`).then(setNotes).catch(() => {});
  }, [task.id, version, task.version]);
  if (notes.length === 0) return null;
  return html`
    <section aria-labelledby="handoffs-heading">
      <h3 id="handoffs-heading">Handoffs</h3>
      <ol class="plain handoffs" data-testid="handoffs">${notes.map(n => html`
        <li key=${n.id}>
          <p><strong>${n.author}</strong> <time class="muted" datetime=${n.createdAt}>${new Date(n.createdAt).toLocaleString()}</time></p>
          <p>${n.summary}</p>
          ${n.remaining && html`<p><span class="muted">Left to do:</span> ${n.remaining}</p>`}
          ${(n.branch || n.files.length > 0) && html`<p class="muted">${[n.branch, ...n.files].filter(Boolean).join(' · ')}</p>`}
          ${n.links.length > 0 && html`<ul class="plain">${n.links.map(l => html`<li key=${l}><a href=${l} rel="noopener noreferrer" target="_blank">${l}</a></li>`)}</ul>`}
        </li>`)}</ol>
    </section>`;
}

function History({ task, version }) {
  const [events, setEvents] = useState([]);
  useEffect(() => {
    api('GET', `/api/tasks/${enc(task.ref)}/history?order=desc&limit=50`).then(p => setEvents(p.items)).catch(() => {});
  }, [task.id, version, task.version]);
  return html`
    <section aria-labelledby="history-heading">
      <h3 id="history-heading">History</h3>
      <ol class="plain history">${events.map(e => html`
        <li key=${e.id}><strong>${e.actor}</strong> ${describeEvent(e)}
          <time class="muted" datetime=${e.at}>${new Date(e.at).toLocaleString()}</time></li>`)}</ol>
    </section>`;
}
