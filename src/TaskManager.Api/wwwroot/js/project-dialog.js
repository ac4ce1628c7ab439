// Create or edit a project (key, title, markdown description, done policy, how long agents' claims last).
import { html, useState } from '../lib/standalone.module.js';
import { api, ApiError, ref as enc } from './api.js';
import { Modal } from './modal.js';

export function ProjectDialog({ project, onClose, onSaved }) {
  const isNew = !project;
  const [form, setForm] = useState({
    key: project?.key ?? '', title: project?.title ?? '', description: project?.description ?? '',
    doneByPeopleOnly: project?.doneByPeopleOnly ?? false,
    leaseMinutes: String((project?.agentLeaseSeconds ?? 900) / 60),
  });
  const [error, setError] = useState(null);
  const set = field => event => setForm({ ...form, [field]: event.target.value });

  async function save(event) {
    event.preventDefault();
    setError(null);
    // The policy is sent only when it changes: only a person may set it.
    const policy = form.doneByPeopleOnly !== (project?.doneByPeopleOnly ?? false) ? { doneByPeopleOnly: form.doneByPeopleOnly } : {};
    const minutes = Number(form.leaseMinutes);
    if (form.leaseMinutes.trim() === '' || !Number.isFinite(minutes) || minutes < 0 || minutes > 10080) {
      setError('Agent lease must be 0 (no expiry) to 10080 minutes (a week).');
      return;
    }
    const lease = { agentLeaseSeconds: Math.round(minutes * 60) };
    try {
      const saved = isNew
        ? await api('POST', '/api/projects', { body: { key: form.key.trim().toUpperCase(), title: form.title.trim(), description: form.description, ...policy, ...lease } })
        : await api('PATCH', `/api/projects/${enc(project.key)}`, { body: { title: form.title.trim(), description: form.description, ...policy, ...lease }, version: project.version });
      onSaved(saved);
      onClose();
    } catch (e) {
      setError(e instanceof ApiError && e.status === 412
        ? 'Someone else changed this project meanwhile. Close this dialog and open it again to see their version.'
        : e.message);
    }
  }

  const name = isNew ? 'New project' : 'Edit project';
  return html`
    <${Modal} label=${name} onClose=${onClose}>
      <form onSubmit=${save} novalidate>
        <h2 id="dialog-title">${name}</h2>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <label>Key<input value=${form.key} onInput=${set('key')} disabled=${!isNew} maxlength="10"
                         autocapitalize="characters" aria-describedby="key-help" /></label>
        <p id="key-help" class="muted">2 to 10 capital letters; tasks are named after it (WEB-1).</p>
        <label>Title<input value=${form.title} onInput=${set('title')} /></label>
        <label>Description<textarea rows="4" value=${form.description} onInput=${set('description')}></textarea></label>
        <label class="check"><input type="checkbox" checked=${form.doneByPeopleOnly}
            onChange=${event => setForm({ ...form, doneByPeopleOnly: event.target.checked })} aria-describedby="policy-help" />
          Only people move tasks to done</label>
        <p id="policy-help" class="muted">Agents may take work as far as review; a person finishes it.</p>
        <label>Agent lease (minutes)<input type="number" min="0" max="10080" step="1" inputmode="numeric" value=${form.leaseMinutes}
            onInput=${set('leaseMinutes')} aria-describedby="lease-help" /></label>
        <p id="lease-help" class="muted">An agent's claimed task goes back to To do when it neither writes nor sends a heartbeat for this long; 0: never.</p>
        <div class="actions">
          <button type="submit">Save project</button>
          <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        </div>
      </form>
    <//>`;
}
