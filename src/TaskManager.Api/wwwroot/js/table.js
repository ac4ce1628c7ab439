// The same tasks as the board, as a sortable table.
import { html, useState } from '../lib/standalone.module.js';
import { PRIORITIES, STATUSES, compareTasks } from './order.js';
import { Assignee } from './board.js';

const COLUMNS = [
  { key: 'ref', label: 'Ref', value: t => [t.projectKey, t.number] },
  { key: 'title', label: 'Title', value: t => t.title.toLowerCase() },
  { key: 'status', label: 'Status', value: t => STATUSES.findIndex(s => s.key === t.status) },
  { key: 'priority', label: 'Priority', value: t => PRIORITIES.indexOf(t.priority) },
  { key: 'assignee', label: 'Assignee', value: t => (t.assignee ?? '\uffff').toLowerCase() },
  { key: 'due', label: 'Due', value: t => t.dueDate ?? '9999' },
];

function compareValues(a, b) {
  if (Array.isArray(a)) return compareValues(a[0], b[0]) || compareValues(a[1], b[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function TaskTable({ tasks, actors, onOpen }) {
  const [sort, setSort] = useState({ key: 'status', descending: false });
  const column = COLUMNS.find(c => c.key === sort.key);
  const rows = [...tasks].sort((a, b) =>
    (sort.descending ? -1 : 1) * compareValues(column.value(a), column.value(b)) || compareTasks(a, b));
  const toggle = key => setSort(sort.key === key ? { key, descending: !sort.descending } : { key, descending: false });
  return html`
    <div class="table-wrap">
      <table class="tasks">
        <caption class="visually-hidden">Tasks, sorted by ${column.label}</caption>
        <thead><tr>${COLUMNS.map(c => html`
          <th scope="col" aria-sort=${sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
            <button type="button" onClick=${() => toggle(c.key)}>${c.label}${sort.key === c.key ? (sort.descending ? ' ▼' : ' ▲') : ''}</button>
          </th>`)}</tr></thead>
        <tbody>${rows.map(t => html`
          <tr key=${t.id} data-ref=${t.ref}>
            <td><button type="button" class="link" onClick=${() => onOpen(t.ref)}>${t.ref}</button></td>
            <td>${t.title}${t.blockedBy.length > 0 && html` <span class="blocked-inline">blocked by ${t.blockedBy.join(', ')}</span>`}</td>
            <td>${STATUSES.find(s => s.key === t.status)?.label}</td>
            <td>${t.priority}</td>
            <td>${t.assignee && html`<${Assignee} name=${t.assignee} actors=${actors} />`}</td>
            <td>${t.dueDate ?? ''}</td>
          </tr>`)}</tbody>
      </table>
      ${rows.length === 0 && html`<p class="muted">No tasks match.</p>`}
    </div>`;
}
