// The live event stream. EventSource cannot send an Authorization header, so each connection first asks for a
// single-use ticket; a dropped connection reconnects with a fresh ticket and resumes after the last event seen
// (lastEventId), so nothing committed meanwhile is missed and the page never reloads.
import { api, ApiError } from './api.js';

/** Every kind of event the api sends today; unknown future kinds still arrive through `message`. */
const KINDS = [
  'project.created', 'project.updated', 'project.archived', 'project.restored',
  'task.created', 'task.updated', 'task.moved', 'task.archived', 'task.restored', 'task.claimed', 'task.ready',
  'comment.added', 'dependency.added', 'dependency.removed', 'lease.expired', 'task.released',
];

export class LiveStream {
  #source = null;
  #lastEventId = null;
  #retry = 0;
  #timer = null;
  #stopped = false;

  /** `onEvent(event)` for each change; `onState('live' | 'connecting' | 'offline')`; `onOpen(firstTime)`. */
  constructor({ onEvent, onState, onOpen, onUnauthorized }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.onOpen = onOpen;
    this.onUnauthorized = onUnauthorized;
  }

  start() {
    this.#stopped = false;
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#source?.close();
    this.#source = null;
  }

  async #connect() {
    this.onState('connecting');
    let ticket;
    try {
      ticket = (await api('POST', '/api/events/tickets')).ticket;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return this.onUnauthorized();
      return this.#reconnectLater();
    }
    if (this.#stopped) return;
    const query = new URLSearchParams({ ticket });
    if (this.#lastEventId !== null) query.set('lastEventId', this.#lastEventId);
    const source = new EventSource(`/api/events?${query}`);
    this.#source = source;
    const firstTime = this.#lastEventId === null;
    let opened = false;
    source.onopen = () => {
      opened = true;
      this.#retry = 0;
      this.onState('live');
      this.onOpen(firstTime);
    };
    const receive = message => {
      if (message.lastEventId) this.#lastEventId = message.lastEventId;
      try {
        this.onEvent(JSON.parse(message.data));
      } catch (error) {
        console.info('Ignored an event the board could not read', error);
      }
    };
    for (const kind of KINDS) source.addEventListener(kind, receive);
    source.onmessage = receive;
    // The browser's own retry would reuse the spent ticket: close and reconnect with a new one.
    source.onerror = () => {
      source.close();
      // Refused before it opened (say, a resume point the server no longer has): start afresh, reloading the board.
      if (!opened && !firstTime) this.#lastEventId = null;
      if (this.#source === source) this.#reconnectLater();
    };
  }

  #reconnectLater() {
    if (this.#stopped) return;
    this.onState('connecting');
    const delay = Math.min(10_000, 500 * 2 ** this.#retry++);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  /** The id of the last event received; the stream resumes after it. */
  get lastEventId() { return this.#lastEventId; }

  /** Starts from "now" when nothing has been seen yet (first load reads the current state). */
  set lastEventId(id) { this.#lastEventId = id; }
}
