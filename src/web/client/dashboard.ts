import {
  el,
  faultSummary,
  LogTable,
  NodesView,
  setText,
  type FaultAction,
} from './dashboard-render.js';
import type { DashboardState, FaultSettings } from './dashboard-wire.js';
import { Pictures } from './pictures.js';
import { TokenField } from './token-field.js';

/**
 * The dashboard page: live state from the master's event stream, the append form, the fault
 * buttons and the tokens they may need. No framework: the page is small, and updating elements
 * in place keeps focus and scroll where the user left them.
 */

const REQUESTS_SHOWN = 6;
const RETRY_AFTER_REFUSAL_MS = 5000;
const TICK_MS = 100;

function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no #${id} (${type.name})`);
  return found;
}

const connection = byId('connection', HTMLElement);
const banner = byId('banner', HTMLElement);
const announcer = byId('announcer', HTMLElement);
const nodesContainer = byId('nodes', HTMLElement);
const table = new LogTable(
  byId('log-head', HTMLTableRowElement),
  byId('log-body', HTMLTableSectionElement),
);
const form = byId('append-form', HTMLFormElement);
const messageInput = byId('message', HTMLInputElement);
const wSelect = byId('w', HTMLSelectElement);
const timeoutSelect = byId('timeout', HTMLSelectElement);
const appendStatus = byId('append-status', HTMLElement);
const requestsList = byId('requests', HTMLOListElement);
const tokensContainer = byId('tokens', HTMLElement);
function svgById(id: string): SVGSVGElement {
  const found = document.getElementById(id);
  if (!(found instanceof SVGSVGElement)) throw new Error(`the page has no <svg id="${id}">`);
  return found;
}
const pictures = new Pictures({
  diagram: svgById('diagram'),
  appends: svgById('chart-appends'),
  lag: svgById('chart-lag'),
  lagKey: byId('lag-key', HTMLElement),
  empty: byId('pictures-empty', HTMLElement),
});

// ---------------------------------------------------------------------------------------------
// Answers

interface ErrorEnvelope {
  readonly status: 'error';
  readonly error: { readonly code: string; readonly message: string };
}

function isErrorEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = body.error;
  return typeof error === 'object' && error !== null && 'code' in error && 'message' in error;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorText(response: Response, body: unknown): string {
  if (isErrorEnvelope(body)) return `${response.status} ${body.error.code}: ${body.error.message}`;
  return `${response.status} ${response.statusText}`;
}

function failureText(error: unknown): string {
  return `no answer from the master (${error instanceof Error ? error.message : String(error)})`;
}

// ---------------------------------------------------------------------------------------------
// Tokens: each sent with its own requests only

const code = (text: string): HTMLElement => el('code', { text });
const apiToken = new TokenField({
  id: 'api-token',
  noun: 'API token',
  storageKey: 'rlog.apiToken',
  hint: ['This master runs with ', code('API_TOKEN'), ': appends need it.'],
});
const clusterToken = new TokenField({
  id: 'token',
  noun: 'cluster token',
  storageKey: 'rlog.clusterToken',
  hint: ['This cluster runs with ', code('CLUSTER_TOKEN'), ': the fault buttons need it.'],
});
// Each shown once the state says the cluster uses it (or a request is refused for want of it).
apiToken.shown = false;
clusterToken.shown = false;
tokensContainer.append(apiToken.root, clusterToken.root);

// ---------------------------------------------------------------------------------------------
// Fault injection, through the master

const faultAction: FaultAction = async (name, change, report) => {
  try {
    const response = await fetch(`/admin/secondaries/${encodeURIComponent(name)}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...clusterToken.headers() },
      body: JSON.stringify(change),
    });
    const body = await readBody(response);
    if (response.status === 401) {
      setText(report, clusterToken.refusal);
      clusterToken.ask();
      return;
    }
    if (!response.ok) {
      setText(report, errorText(response, body));
      return;
    }
    clusterToken.clearPrompt();
    setText(report, `Now: ${faultSummary(body as FaultSettings)}.`);
  } catch (error) {
    setText(report, failureText(error));
  }
};

// ---------------------------------------------------------------------------------------------
// Appends

let current: DashboardState | undefined;

/** The node count a write concern stands for in this cluster. */
function nodesFor(w: string): number | undefined {
  if (current === undefined) return undefined;
  if (w === 'all') return current.quorum.size;
  if (w === 'majority') return current.quorum.required;
  return Number(w);
}

function renderWChoices(state: DashboardState): void {
  const { size, required } = state.quorum;
  const choices: [string, string][] = [
    ['all', `all (${size} nodes)`],
    ['majority', `majority (${required} nodes)`],
    ...Array.from({ length: size }, (_, index): [string, string] => [
      String(index + 1),
      `${index + 1}${index === 0 ? ' (the master alone)' : ''}`,
    ]),
  ];
  const key = choices.map(([, label]) => label).join('|');
  if (wSelect.dataset['choices'] === key) return;
  wSelect.dataset['choices'] = key;
  const selected = wSelect.value === '' ? 'all' : wSelect.value;
  wSelect.replaceChildren(
    ...choices.map(([value, label]) => el('option', { text: label, attrs: { value } })),
  );
  wSelect.value = choices.some(([value]) => value === selected) ? selected : 'all';
}

/** One append in the list: waiting (with the time so far), then its answer. */
class AppendItem {
  readonly root: HTMLLIElement;
  readonly #state: HTMLSpanElement;
  /** The waiting text, updated in place so that the spinner beside it keeps turning. */
  readonly #waitingText = document.createTextNode('');
  readonly #startedAt = performance.now();
  #waiting = true;

  constructor(
    message: string,
    private readonly w: string,
  ) {
    this.#state = el(
      'span',
      { className: 'request-state' },
      el('span', { className: 'spinner', attrs: { 'aria-hidden': 'true' } }),
      this.#waitingText,
    );
    this.root = el(
      'li',
      { className: 'request waiting' },
      el('span', { className: 'request-message', text: message }),
      el('span', { className: 'request-w', text: `w=${w}` }),
      this.#state,
    );
    this.tick();
  }

  get waiting(): boolean {
    return this.#waiting;
  }

  get elapsedMs(): number {
    return Math.round(performance.now() - this.#startedAt);
  }

  tick(): void {
    if (!this.#waiting) return;
    const seconds = (this.elapsedMs / 1000).toFixed(1);
    this.#waitingText.data = `waiting for w=${nodesFor(this.w) ?? this.w}… ${seconds} s`;
  }

  finish(ok: boolean, text: string): void {
    this.#waiting = false;
    this.root.className = `request ${ok ? 'ok' : 'failed'}`;
    this.#state.replaceChildren(text);
  }
}

const appends: AppendItem[] = [];
let ticker: ReturnType<typeof setInterval> | undefined;

function tickAppends(): void {
  const waiting = appends.filter((item) => item.waiting);
  for (const item of waiting) item.tick();
  if (waiting.length === 0 && ticker !== undefined) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

function track(item: AppendItem): void {
  appends.unshift(item);
  requestsList.prepend(item.root);
  for (const old of appends.splice(REQUESTS_SHOWN)) old.root.remove();
  ticker ??= setInterval(tickAppends, TICK_MS);
}

interface AppendAnswer {
  readonly log: { readonly id: number };
  readonly w: number;
  readonly acks: number;
}

function nodesText(count: number | undefined): string {
  return count === 1 ? '1 node' : `${count ?? '?'} nodes`;
}

function appendText(response: Response, body: unknown, ms: number): { ok: boolean; text: string } {
  const answer = body as Partial<AppendAnswer>;
  if ((response.status === 200 || response.status === 201) && answer.log !== undefined) {
    return {
      ok: true,
      text: `id ${answer.log.id}, held by ${nodesText(answer.acks)} (w=${answer.w ?? '?'}) after ${ms} ms`,
    };
  }
  if (response.status === 504 && answer.log !== undefined) {
    return {
      ok: false,
      text: `504 WRITE_CONCERN_TIMEOUT: stored as id ${answer.log.id}, but only ${answer.acks ?? '?'} of w=${answer.w ?? '?'} nodes held it in time; it will still be replicated`,
    };
  }
  return { ok: false, text: errorText(response, body) };
}

async function append(message: string, w: string, timeoutMs: string): Promise<void> {
  const item = new AppendItem(message, w);
  track(item);
  setText(appendStatus, `Appending "${message}" with w=${w}…`);
  let outcome: { ok: boolean; text: string };
  try {
    const response = await fetch('/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...apiToken.headers() },
      body: JSON.stringify({
        message,
        w: /^[0-9]+$/.test(w) ? Number(w) : w,
        ...(timeoutMs === '' ? {} : { timeoutMs: Number(timeoutMs) }),
      }),
    });
    const body = await readBody(response);
    if (response.status === 401) {
      outcome = { ok: false, text: apiToken.refusal };
      apiToken.ask();
    } else {
      outcome = appendText(response, body, item.elapsedMs);
      apiToken.clearPrompt();
    }
  } catch (error) {
    outcome = { ok: false, text: failureText(error) };
  }
  item.finish(outcome.ok, outcome.text);
  setText(appendStatus, `"${message}": ${outcome.text}`);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  // The input is `required`: the browser itself says so when it is empty.
  const message = messageInput.value;
  void append(message, wSelect.value, timeoutSelect.value);
  messageInput.value = '';
  messageInput.focus();
});

// ---------------------------------------------------------------------------------------------
// Live state

let nodes: NodesView | undefined;

function renderBanner(state: DashboardState): void {
  const { size, required, healthy } = state.quorum;
  const readOnly = state.master.status === 'read-only';
  setText(
    banner,
    readOnly
      ? `Read-only: ${healthy} of ${size} nodes healthy, ${required} needed for a quorum; appends are refused.`
      : `Writable: ${healthy} of ${size} nodes healthy, ${required} needed for a quorum.`,
  );
  banner.className = `banner ${readOnly ? 'banner-bad' : 'banner-ok'}`;
}

/** Health changes, said once to screen readers (the cards change silently). */
function announce(before: DashboardState | undefined, after: DashboardState): void {
  if (before === undefined) return;
  const lines: string[] = [];
  if (before.master.status !== after.master.status) {
    lines.push(
      after.master.status === 'read-only'
        ? 'The master is read-only: no quorum.'
        : 'The master accepts appends again.',
    );
  }
  for (const view of after.secondaries) {
    const old = before.secondaries.find((candidate) => candidate.name === view.name);
    if (old === undefined) continue;
    if (old.status !== view.status)
      lines.push(`${view.name} is ${view.status} (was ${old.status}).`);
    if (old.reach !== view.reach && view.reach === 'unreachable')
      lines.push(`${view.name} does not answer the dashboard.`);
    if (old.reach === 'unreachable' && view.reach === 'reachable')
      lines.push(`${view.name} answers the dashboard again.`);
  }
  if (lines.length > 0) setText(announcer, lines.join(' '));
}

function apply(state: DashboardState): void {
  nodes ??= new NodesView(nodesContainer, state.master.name, faultAction);
  document.documentElement.style.setProperty('--columns', String(state.secondaries.length + 1));
  nodes.update(state);
  table.update(state);
  renderWChoices(state);
  renderBanner(state);
  // Never hidden again once shown: the user may be typing in it.
  if (state.appendsNeedToken) apiToken.shown = true;
  if (state.faultsNeedToken) clusterToken.shown = true;
  pictures.update(state);
  announce(current, state);
  current = state;
  tickAppends();
}

function showConnection(live: boolean, text: string): void {
  setText(connection, text);
  connection.className = `connection ${live ? 'live' : 'down'}`;
  document.body.classList.toggle('offline', !live);
}

function connect(): void {
  const source = new EventSource('/dashboard/events');
  source.addEventListener('open', () => {
    showConnection(true, 'Live');
  });
  source.addEventListener('state', (event) => {
    apply(JSON.parse((event as MessageEvent<string>).data) as DashboardState);
  });
  source.addEventListener('error', () => {
    if (source.readyState !== EventSource.CLOSED) {
      showConnection(false, 'Connection to the master lost; reconnecting…');
      return;
    }
    // Refused (503 when too many pages are open) or not an event stream: the browser gives up,
    // so try again later ourselves.
    source.close();
    showConnection(
      false,
      `The master refused the live view (too many pages open, or restarting); retrying in ${RETRY_AFTER_REFUSAL_MS / 1000} s`,
    );
    setTimeout(connect, RETRY_AFTER_REFUSAL_MS);
  });
}

connect();
