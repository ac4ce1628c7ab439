// Board order: tasks carry their position in a status column as a decimal number in text (exact midpoints, so they
// can be longer than a double holds). Compared here digit by digit, never through floating point.

export const STATUSES = [
  { key: 'todo', label: 'To do' },
  { key: 'doing', label: 'Doing' },
  { key: 'review', label: 'Review' },
  { key: 'done', label: 'Done' },
];

export const PRIORITIES = ['low', 'medium', 'high', 'critical'];

function parts(text) {
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = (negative ? text.slice(1) : text).split('.');
  return { negative, whole: whole.replace(/^0+(?=\d)/, ''), fraction: fraction.replace(/0+$/, '') };
}

function compareMagnitude(a, b) {
  if (a.whole.length !== b.whole.length) return a.whole.length < b.whole.length ? -1 : 1;
  if (a.whole !== b.whole) return a.whole < b.whole ? -1 : 1;
  if (a.fraction === b.fraction) return 0;
  return a.fraction.padEnd(b.fraction.length, '0') < b.fraction.padEnd(a.fraction.length, '0') ? -1 : 1;
}

export function comparePositions(x, y) {
  const a = parts(x);
  const b = parts(y);
  const zeroA = /^0*$/.test(a.whole + a.fraction);
  const zeroB = /^0*$/.test(b.whole + b.fraction);
  const signA = zeroA ? 0 : a.negative ? -1 : 1;
  const signB = zeroB ? 0 : b.negative ? -1 : 1;
  if (signA !== signB) return signA < signB ? -1 : 1;
  const magnitude = compareMagnitude(a, b);
  return signA < 0 ? -magnitude : magnitude;
}

export function compareTasks(a, b) {
  return comparePositions(a.position, b.position) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The tasks of each column, in board order. */
export function columns(tasks) {
  const byStatus = Object.fromEntries(STATUSES.map(s => [s.key, []]));
  for (const task of tasks) byStatus[task.status]?.push(task);
  for (const list of Object.values(byStatus)) list.sort(compareTasks);
  return byStatus;
}

/** Does a task pass the board's filters? Text matches ref, title and description, ignoring case. */
export function matches(task, filters) {
  if (filters.priority && task.priority !== filters.priority) return false;
  if (filters.assignee && (task.assignee ?? '').toLowerCase() !== filters.assignee.toLowerCase()) return false;
  if (filters.label && !task.labels.some(l => l.toLowerCase() === filters.label.toLowerCase())) return false;
  if (filters.q) {
    const q = filters.q.toLowerCase();
    return task.ref.toLowerCase().includes(q) || task.title.toLowerCase().includes(q) || task.description.toLowerCase().includes(q);
  }
  return true;
}
