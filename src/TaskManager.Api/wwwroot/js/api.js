// The api client of the board: same origin, bearer token from sign-in, RFC 9457 problems turned into messages.

const TOKEN_KEY = 'tm.token';

export const session = {
  get token() { return localStorage.getItem(TOKEN_KEY); },
  signIn(token) { localStorage.setItem(TOKEN_KEY, token); },
  signOut() { localStorage.removeItem(TOKEN_KEY); },
};

/** Called when the api says the token is no longer good (revoked, expired). */
let onUnauthorized = () => {};
export function whenUnauthorized(handler) { onUnauthorized = handler; }

export class ApiError extends Error {
  constructor(status, problem) {
    super(describeProblem(status, problem));
    this.status = status;
    this.problem = problem ?? {};
  }
}

/** One sentence a person can act on, from a problem body: its detail, or each field error. */
export function describeProblem(status, problem) {
  if (problem?.errors) {
    return Object.entries(problem.errors).map(([field, messages]) => `${field}: ${messages.join(' ')}`).join(' ');
  }
  return problem?.detail || problem?.title || `The server answered ${status}.`;
}

/**
 * Calls the api. Returns the parsed body (null for 204); throws ApiError with the problem otherwise.
 * `version` becomes If-Match, so a write made on a stale copy is refused instead of overwriting.
 */
export async function api(method, path, { body, version, token = session.token } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (version !== undefined && version !== null) headers['If-Match'] = `"${version}"`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { detail: 'The server cannot be reached. Check your connection and try again.' });
  }
  const text = response.status === 204 ? '' : await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (!response.ok) {
    if (response.status === 401 && token === session.token) onUnauthorized();
    throw new ApiError(response.status, data);
  }
  return data;
}

/** Every item of a paged list (`{ items, nextCursor }`). */
export async function listAll(path, params = {}) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ ...params, limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const page = await api('GET', `${path}?${query}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export const ref = encodeURIComponent;
