import type { ClusterNodeView, ClusterState, ElectionEvent } from './cluster-wire.js';
import { el, hidden, setText } from './dashboard-render.js';
import { TokenField } from './token-field.js';

/**
 * The page of a failover node (cluster.html): every node as it answers its own health, the
 * master and the epoch, the elections as they happen, and Kill/Stop for any node, sent through
 * the node that served the page. Live from its event stream; no framework.
 */

const RETRY_AFTER_REFUSAL_MS = 5000;
const STOP_MS = 10_000;

function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no #${id} (${type.name})`);
  return found;
}

const connection = byId('connection', HTMLElement);
const banner = byId('banner', HTMLElement);
const announcer = byId('announcer', HTMLElement);
const rows = byId('cluster-nodes', HTMLTableSectionElement);
const electionsList = byId('elections', HTMLOListElement);
const electionsEmpty = byId('elections-empty', HTMLElement);

const clusterToken = new TokenField({
  id: 'token',
  noun: 'cluster token',
  storageKey: 'rlog.clusterToken',
  hint: [
    'This cluster runs with ',
    el('code', { text: 'CLUSTER_TOKEN' }),
    ': Kill and Stop need it.',
  ],
});
clusterToken.shown = false;
byId('tokens', HTMLElement).append(clusterToken.root);

/** The error envelope's words, or the status line. */
async function answerText(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.message !== undefined)
      return `${response.status} ${body.error.code ?? ''}: ${body.error.message}`;
  } catch {
    // Not JSON: the status says enough.
  }
  return `${response.status} ${response.statusText}`;
}

async function sendFault(name: string, fault: 'kill' | 'stop', report: HTMLElement): Promise<void> {
  setText(report, `Sending ${fault} to ${name}…`);
  try {
    const response = await fetch(`/admin/nodes/${encodeURIComponent(name)}/${fault}`, {
      method: 'POST',
      headers: {
        ...clusterToken.headers(),
        ...(fault === 'stop' ? { 'content-type': 'application/json' } : {}),
      },
      ...(fault === 'stop' ? { body: JSON.stringify({ durationMs: STOP_MS }) } : {}),
    });
    if (response.status === 401) {
      setText(report, clusterToken.refusal);
      clusterToken.ask();
      return;
    }
    if (response.status !== 202) {
      setText(report, await answerText(response));
      return;
    }
    clusterToken.clearPrompt();
    setText(
      report,
      fault === 'kill' ? `${name} killed.` : `${name} stopped for ${STOP_MS / 1000} s.`,
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    setText(report, `no answer from this node (${reason})`);
  }
}

/** One node's row, built once and updated in place. */
class NodeRow {
  readonly root: HTMLTableRowElement;
  readonly #cells: Record<'role' | 'epoch' | 'follows' | 'commit' | 'last' | 'reach', HTMLElement>;

  constructor(view: ClusterNodeView) {
    const cell = (): HTMLTableCellElement => el('td');
    this.#cells = {
      role: cell(),
      epoch: cell(),
      follows: cell(),
      commit: cell(),
      last: cell(),
      reach: cell(),
    };
    const report = el('p', { className: 'action-report', attrs: { role: 'status' } });
    const button = (fault: 'kill' | 'stop', label: string): HTMLButtonElement => {
      const made = el('button', { attrs: { type: 'button' } }, label, hidden(` ${view.name}`));
      made.addEventListener('click', () => {
        void sendFault(view.name, fault, report);
      });
      return made;
    };
    const name = el('th', { attrs: { scope: 'row' } }, view.name);
    if (view.self) name.append(el('span', { className: 'hint', text: ' (this page)' }));
    this.root = el(
      'tr',
      { attrs: { 'data-node': view.name } },
      name,
      this.#cells.role,
      this.#cells.epoch,
      this.#cells.follows,
      this.#cells.commit,
      this.#cells.last,
      this.#cells.reach,
      el(
        'td',
        {},
        el('div', { className: 'fault-row' }, button('kill', 'Kill'), button('stop', 'Stop 10 s')),
        report,
      ),
    );
  }

  update(view: ClusterNodeView, master: string | null): void {
    const known = (value: number | string | null): string => (value === null ? '–' : String(value));
    setText(this.#cells.role, known(view.role));
    setText(this.#cells.epoch, known(view.epoch));
    setText(this.#cells.follows, view.role === 'master' ? '–' : (view.masterName ?? 'none'));
    setText(this.#cells.commit, known(view.commitId));
    setText(this.#cells.last, known(view.lastId));
    setText(
      this.#cells.reach,
      view.reach === 'unreachable' ? `unreachable: ${view.reachError ?? ''}` : view.reach,
    );
    const className = [
      view.name === master ? 'is-master' : '',
      view.reach === 'unreachable' ? 'unreachable' : '',
    ]
      .filter((name) => name !== '')
      .join(' ');
    if (this.root.className !== className) this.root.className = className;
  }
}

const nodeRows = new Map<string, NodeRow>();

function renderNodes(state: ClusterState): void {
  for (const view of state.nodes) {
    let row = nodeRows.get(view.name);
    if (row === undefined) {
      row = new NodeRow(view);
      nodeRows.set(view.name, row);
      rows.append(row.root);
    }
    row.update(view, state.master);
  }
}

function eventText(event: ElectionEvent, nowMs: number): string {
  const agoS = Math.max(0, (nowMs - event.atMs) / 1000).toFixed(1);
  return `${agoS} s ago · ${event.node}: ${event.text}`;
}

function renderElections(state: ClusterState): void {
  electionsEmpty.hidden = state.elections.length > 0;
  const items = state.elections.map((event) =>
    el('li', { text: eventText(event, state.nowMs), attrs: { 'data-epoch': String(event.epoch) } }),
  );
  electionsList.replaceChildren(...items);
}

function renderBanner(state: ClusterState): void {
  const text =
    state.master === null
      ? `No master known in epoch ${state.epoch}: an election is under way; appends wait.`
      : `Master: ${state.master} · epoch ${state.epoch}`;
  setText(banner, text);
  banner.className = `banner ${state.master === null ? 'banner-bad' : 'banner-ok'}`;
}

let current: ClusterState | undefined;

function apply(state: ClusterState): void {
  renderNodes(state);
  renderElections(state);
  renderBanner(state);
  if (state.faultsNeedToken) clusterToken.shown = true;
  if (current !== undefined && (current.master !== state.master || current.epoch !== state.epoch))
    setText(
      announcer,
      state.master === null
        ? 'No master known.'
        : `${state.master} is master in epoch ${state.epoch}.`,
    );
  current = state;
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
    apply(JSON.parse((event as MessageEvent<string>).data) as ClusterState);
  });
  source.addEventListener('error', () => {
    if (source.readyState !== EventSource.CLOSED) {
      showConnection(false, 'Connection to this node lost; reconnecting…');
      return;
    }
    source.close();
    showConnection(
      false,
      `This node refused the live view (too many pages open, or restarting); retrying in ${RETRY_AFTER_REFUSAL_MS / 1000} s`,
    );
    setTimeout(connect, RETRY_AFTER_REFUSAL_MS);
  });
}

connect();
