// The Kanban board: four columns, cards, drag and drop (SortableJS, which also handles touch) and the same moves by
// keyboard. Every move goes to the api with the card's version; a refused move puts the card back and says why.
import { html, useEffect, useRef, useState } from '../lib/standalone.module.js';
import Sortable from '../lib/sortable.core.esm.js';
import { STATUSES } from './order.js';

/** Cards rendered per column before "Show more": keeps a 1,000-task project fast to draw and to drag in. */
const PAGE = 60;

export function Board({ columns, refs, actors, flashes, onOpen, onMove, doneByPeopleOnly = false }) {
  return html`
    <div class="board" role="presentation">
      <p id="card-help" class="visually-hidden">
        Press Enter to open. Alt plus Left or Right arrow moves the card to the previous or next column; Alt plus Up or
        Down arrow moves it within its column.
      </p>
      ${STATUSES.map(status => html`
        <${Column} key=${status.key} status=${status} tasks=${columns[status.key]} columns=${columns} refs=${refs} actors=${actors}
                   flashes=${flashes} onOpen=${onOpen} onMove=${onMove} peopleOnly=${doneByPeopleOnly && status.key === 'done'} />`)}
    </div>`;
}

function Column({ status, tasks, columns, refs, actors, flashes, onOpen, onMove, peopleOnly }) {
  const list = useRef(null);
  const [shown, setShown] = useState(PAGE);
  const latest = useRef({ columns, onMove });
  latest.current = { columns, onMove };

  useEffect(() => {
    const sortable = Sortable.create(list.current, {
      group: 'board',
      animation: 120,
      draggable: 'li[data-ref]',
      ghostClass: 'card-ghost',
      chosenClass: 'card-chosen',
      forceFallback: false,
      onEnd: event => {
        const { item, from, to, oldIndex, newIndex } = event;
        if (from === to && oldIndex === newIndex) return;
        // The DOM belongs to Preact: undo SortableJS's move, then let the state change redraw the card in place.
        // (Moved up within one list, the card itself still sits before its old place: skip over it.)
        const after = from === to && newIndex < oldIndex ? oldIndex + 1 : oldIndex;
        from.insertBefore(item, from.children[after] ?? null);
        const target = to.dataset.status;
        const ref = item.dataset.ref;
        const others = latest.current.columns[target].filter(t => t.ref !== ref);
        latest.current.onMove(ref, target, others[newIndex]?.ref ?? null, others[newIndex - 1]?.ref ?? null);
      },
    });
    return () => sortable.destroy();
  }, []);

  const headingId = `column-${status.key}`;
  const visible = tasks.slice(0, shown);
  return html`
    <section class="column" data-status=${status.key} aria-labelledby=${headingId}>
      <h2 id=${headingId}>${status.label} <span class="count" data-testid="count">${tasks.length}</span>
        ${peopleOnly && html`<span class="policy" data-testid="people-only" title="Only people move tasks here: agents stop at review">people only</span>`}</h2>
      <ul class="cards" data-status=${status.key} ref=${list} aria-labelledby=${headingId}>
        ${visible.map((task, index) => html`
          <${Card} key=${task.id} task=${task} parentRef=${refs.get(task.parentId)} actors=${actors} flash=${flashes.get(task.id)} onOpen=${onOpen}
                   onKey=${event => keyboardMove(event, task, index, tasks, columns, onMove, onOpen)} />`)}
      </ul>
      ${tasks.length > shown && html`
        <button type="button" class="more" onClick=${() => setShown(shown + PAGE * 4)}>
          Show ${Math.min(tasks.length - shown, PAGE * 4)} more of ${tasks.length - shown}
        </button>`}
    </section>`;
}

function keyboardMove(event, task, index, tasks, columns, onMove, onOpen) {
  if (event.key === 'Enter' && !event.altKey) {
    event.preventDefault();
    return onOpen(task.ref);
  }
  if (!event.altKey) return;
  const order = STATUSES.map(s => s.key);
  const column = order.indexOf(task.status);
  if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
    const next = order[column + (event.key === 'ArrowRight' ? 1 : -1)];
    event.preventDefault();
    if (!next) return;
    const target = columns[next];
    onMove(task.ref, next, null, target.at(-1)?.ref ?? null, { focus: true });
  } else if (event.key === 'ArrowUp' && index > 0) {
    event.preventDefault();
    onMove(task.ref, task.status, tasks[index - 1].ref, null, { focus: true });
  } else if (event.key === 'ArrowDown' && index < tasks.length - 1) {
    event.preventDefault();
    onMove(task.ref, task.status, null, tasks[index + 1].ref, { focus: true });
  }
}

export function Card({ task, parentRef, actors, flash, onOpen, onKey }) {
  const due = task.dueDate ? new Date(`${task.dueDate}T00:00:00`) : null;
  const overdue = due && task.status !== 'done' && due < new Date(new Date().toDateString());
  return html`
    <li class=${`card priority-${task.priority}${flash ? ' flashing' : ''}`} data-ref=${task.ref} data-version=${task.version}
        tabindex="0" aria-describedby="card-help" aria-label=${`${task.ref}: ${task.title}`}
        onClick=${() => onOpen(task.ref)} onKeyDown=${onKey}>
      <div class="card-top">
        <span class="ref">${task.ref}</span>
        <span class="priority" data-testid="priority">${task.priority}</span>
      </div>
      ${parentRef && html`<p class="parent">Subtask of ${parentRef}</p>`}
      <p class="title">${task.title}</p>
      ${task.labels.length > 0 && html`
        <ul class="labels" aria-label="Labels">${task.labels.map(label => html`<li key=${label}>${label}</li>`)}</ul>`}
      ${task.blockedBy.length > 0 && html`
        <p class="blocked" data-testid="blocked">Blocked by ${task.blockedBy.join(', ')}</p>`}
      <div class="card-meta">
        ${task.assignee && html`<${Assignee} name=${task.assignee} actors=${actors} />`}
        ${task.subtasks.total > 0 && html`
          <span class="subtasks" title="Subtasks done">☑ ${task.subtasks.done}/${task.subtasks.total}</span>`}
        ${due && html`<span class=${overdue ? 'due overdue' : 'due'}>Due ${task.dueDate}</span>`}
      </div>
      ${task.lease && html`<${Lease} lease=${task.lease} />`}
      ${task.expiredLease && task.status === 'todo' && html`
        <p class="lease lost" data-testid="lease-expired">${task.expiredLease.holder}'s lease expired ${ago(task.expiredLease.at)}</p>`}
      ${flash && html`<p class="flash" data-testid="flash" role="status">${flash.actor} · ${flash.what}</p>`}
    </li>`;
}

/** The claim a card is under: who holds it, how long it has left, when its holder was last heard from. */
function Lease({ lease }) {
  const now = useNow(lease.expiresAt ? 5000 : 30000);
  const left = lease.expiresAt ? (new Date(lease.expiresAt) - now) / 1000 : null;
  const late = left !== null && left <= 0;
  return html`
    <p class=${late ? 'lease late' : left !== null && left < 120 ? 'lease short' : 'lease'} data-testid="lease"
       title=${lease.expiresAt ? `Lease runs out at ${new Date(lease.expiresAt).toLocaleString()}` : 'Held until released'}>
      <span class="holder">Held by ${lease.holder}</span>
      <span data-testid="lease-left">${left === null ? 'no expiry' : late ? 'expiring' : `${duration(left)} left`}</span>
      ${lease.heartbeatAt && html`<span class="muted" data-testid="lease-heartbeat">beat ${ago(lease.heartbeatAt, now)}</span>`}
    </p>`;
}

function useNow(every) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(timer);
  }, [every]);
  return now;
}

function duration(seconds) {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

function ago(at, now = Date.now()) {
  const seconds = (now - new Date(at)) / 1000;
  return seconds < 10 ? 'just now' : `${duration(seconds)} ago`;
}

export function Assignee({ name, actors }) {
  const agent = actors.get(name) === 'agent';
  return html`
    <span class="assignee" data-testid="assignee">
      ${agent && html`<span class="agent-badge" data-testid="agent-badge" title="An AI agent">agent</span>`}
      ${name}
    </span>`;
}
