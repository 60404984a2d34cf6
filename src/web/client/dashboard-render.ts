import type { DashboardState, FaultSettings, SecondaryView, TailEntry } from './dashboard-wire.js';

/**
 * Rendering of the dashboard's state into elements built once and updated in place: text and
 * classes change only where the state did, so nothing flickers and focus stays where it was.
 * Messages are anyone's text: they are only ever set as text, never as HTML.
 */

interface ElementProps {
  readonly className?: string;
  readonly text?: string;
  readonly attrs?: Readonly<Record<string, string>>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className !== undefined) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** Text for screen readers only, such as the node a button acts on. */
export function hidden(text: string): HTMLSpanElement {
  return el('span', { className: 'visually-hidden', text });
}

export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

function setClass(element: Element, className: string): void {
  if (element.className !== className) element.className = className;
}

/** Marks an element as just changed for a moment (a highlight; none with reduced motion). */
function flash(element: Element, className: string): void {
  element.classList.add(className);
  setTimeout(() => {
    element.classList.remove(className);
  }, 1500);
}

export function contactText(seconds: number | null): string {
  if (seconds === null) return 'never';
  return seconds === 0 ? 'under 1 s ago' : `${seconds} s ago`;
}

export function delayText(delay: FaultSettings['delayMs']): string {
  return typeof delay === 'number' ? `${delay} ms` : `${delay[0]}-${delay[1]} ms`;
}

export function faultSummary(settings: FaultSettings): string {
  const parts: string[] = [];
  if (settings.partitioned) parts.push('partitioned');
  if (settings.delayMs !== 0) parts.push(`delay ${delayText(settings.delayMs)}`);
  if (settings.errorRate > 0) parts.push(`errors ${Math.round(settings.errorRate * 100)}%`);
  return parts.length === 0 ? 'no faults' : parts.join(', ');
}

/** One `<dt>`/`<dd>` pair of a card's facts; returns the `<dd>` to update. */
function fact(list: HTMLDListElement, term: string): HTMLElement {
  const value = el('dd');
  list.append(el('div', {}, el('dt', { text: term }), value));
  return value;
}

/** A node's card: its name, role and health state on top, then `content`. */
function cardShell(
  name: string,
  role: string,
  status: HTMLElement,
  ...content: HTMLElement[]
): HTMLElement {
  return el(
    'article',
    { className: 'node', attrs: { 'aria-labelledby': `node-${name}` } },
    el(
      'header',
      {},
      el('h3', { text: name, attrs: { id: `node-${name}` } }),
      el('span', { className: 'role', text: role }),
      status,
    ),
    ...content,
  );
}

/** A health state as a badge: colour and text alike. */
function setBadge(badge: HTMLElement, state: string): void {
  setText(badge, state);
  setClass(badge, `badge state-${state}`);
}

class MasterCard {
  readonly root: HTMLElement;
  readonly #status = el('span');
  readonly #lastId: HTMLElement;
  readonly #quorum: HTMLElement;
  readonly #waiting: HTMLElement;

  constructor(name: string) {
    const facts = el('dl', { className: 'facts' });
    this.#lastId = fact(facts, 'Last id');
    this.#quorum = fact(facts, 'Nodes healthy');
    this.#waiting = fact(facts, 'Appends waiting');
    this.root = cardShell(name, 'master', this.#status, facts);
  }

  update(state: DashboardState): void {
    const { master, quorum } = state;
    setBadge(this.#status, master.status);
    setText(this.#lastId, String(master.lastId));
    setText(this.#quorum, `${quorum.healthy} of ${quorum.size} (${quorum.required} needed)`);
    setText(this.#waiting, String(master.waitingAppends));
  }
}

/** What a secondary's fault buttons ask for; the page sends it through the master. */
export type FaultAction = (
  name: string,
  change: Partial<FaultSettings>,
  report: HTMLElement,
) => Promise<void>;

const DELAY_CHOICES = [0, 200, 1000];
const ERROR_RATE = 0.3;

/** The delays a user may choose for a secondary, one option each. */
function delaySelect(id: string): HTMLSelectElement {
  const select = el('select', { attrs: { id } });
  for (const ms of DELAY_CHOICES)
    select.append(el('option', { text: `${ms} ms`, attrs: { value: String(ms) } }));
  return select;
}

class SecondaryCard {
  readonly root: HTMLElement;
  readonly #status: HTMLElement;
  readonly #lastId: HTMLElement;
  readonly #acked: HTMLElement;
  readonly #lag: HTMLElement;
  readonly #contact: HTMLElement;
  readonly #pending: HTMLElement;
  readonly #reach: HTMLElement;
  readonly #faults: HTMLElement;
  readonly #faultsNote: HTMLElement;
  readonly #summary: HTMLElement;
  readonly #partition: HTMLButtonElement;
  readonly #errors: HTMLButtonElement;
  readonly #delay: HTMLSelectElement;
  readonly #report: HTMLElement;
  #settings: FaultSettings | undefined;
  #busy = false;

  constructor(
    private readonly name: string,
    action: FaultAction,
  ) {
    const facts = el('dl', { className: 'facts' });
    this.#status = el('span');
    this.#lastId = fact(facts, 'High-water mark');
    this.#acked = fact(facts, 'Acked by master');
    this.#lag = fact(facts, 'Lag');
    this.#contact = fact(facts, 'Last contact');
    this.#pending = fact(facts, 'Pending (after a gap)');
    this.#reach = el('p', { className: 'reach' });
    this.#reach.hidden = true;

    const send = (change: Partial<FaultSettings>): void => {
      this.#send(action, change);
    };
    this.#summary = el('p', { className: 'fault-summary' });
    this.#partition = el('button', { attrs: { type: 'button' } });
    this.#partition.addEventListener('click', () => {
      send({ partitioned: !(this.#settings?.partitioned ?? false) });
    });
    this.#errors = el('button', { attrs: { type: 'button' } });
    this.#errors.addEventListener('click', () => {
      send({ errorRate: (this.#settings?.errorRate ?? 0) > 0 ? 0 : ERROR_RATE });
    });
    const delayId = `delay-${name}`;
    this.#delay = delaySelect(delayId);
    const setDelay = el(
      'button',
      { attrs: { type: 'button' } },
      'Set delay',
      hidden(` of ${name}`),
    );
    setDelay.addEventListener('click', () => {
      send({ delayMs: Number(this.#delay.value) });
    });
    this.#report = el('p', { className: 'action-report', attrs: { role: 'status' } });
    this.#faults = el(
      'div',
      { className: 'faults' },
      this.#summary,
      el('div', { className: 'fault-row' }, this.#partition, this.#errors),
      el(
        'div',
        { className: 'fault-row' },
        el('label', { attrs: { for: delayId } }, 'Delay', hidden(` of ${name}`)),
        this.#delay,
        setDelay,
      ),
      this.#report,
    );
    this.#faults.hidden = true;
    this.#faultsNote = el('p', { className: 'faults-note' });

    this.root = cardShell(
      name,
      'secondary',
      this.#status,
      facts,
      this.#reach,
      this.#faults,
      this.#faultsNote,
    );
  }

  update(view: SecondaryView): void {
    setBadge(this.#status, view.status);
    setText(this.#lastId, view.lastId === null ? 'not known yet' : String(view.lastId));
    setText(this.#acked, String(view.ackedId));
    setText(this.#lag, `${view.lag} ${view.lag === 1 ? 'entry' : 'entries'}`);
    setClass(this.#lag, view.lag > 0 ? 'lagging' : '');
    setText(this.#contact, contactText(view.lastContactS));
    setText(this.#pending, view.pending === null ? '–' : String(view.pending));
    this.#reach.hidden = view.reach !== 'unreachable';
    setText(this.#reach, `The dashboard cannot reach it: ${view.reachError ?? ''}`);

    const faults = view.faults;
    this.#faults.hidden = faults.state !== 'on';
    this.#faultsNote.hidden = faults.state === 'on';
    if (faults.state === 'on') {
      const settings = faults.settings;
      this.#settings = settings;
      setText(this.#summary, `Faults: ${faultSummary(settings)}`);
      this.#setLabel(this.#partition, settings.partitioned ? 'Heal' : 'Partition');
      this.#setLabel(this.#errors, settings.errorRate > 0 ? 'Stop errors' : 'Inject errors (30%)');
      // The choice being made is the user's: follow the node only when they are elsewhere, and
      // only to a choice the list has (not a range set at start, such as DELAY_MS=100-500).
      const delay = settings.delayMs;
      if (
        document.activeElement !== this.#delay &&
        typeof delay === 'number' &&
        DELAY_CHOICES.includes(delay)
      ) {
        this.#delay.value = String(delay);
      }
    } else {
      this.#settings = undefined;
      setText(
        this.#faultsNote,
        faults.state === 'off'
          ? 'Fault injection is off (start it with FAULT_INJECTION=true).'
          : `Fault injection: ${faults.reason}.`,
      );
    }
  }

  /** Asks for a change of faults, unless one is on its way: one at a time, the panel busy. */
  #send(action: FaultAction, change: Partial<FaultSettings>): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#faults.setAttribute('aria-busy', 'true');
    setText(this.#report, 'Sending…');
    void action(this.name, change, this.#report).finally(() => {
      this.#busy = false;
      this.#faults.removeAttribute('aria-busy');
    });
  }

  /** A button's visible text, with the node's name for screen readers. */
  #setLabel(button: HTMLButtonElement, text: string): void {
    if (button.dataset['label'] === text) return;
    button.dataset['label'] = text;
    button.replaceChildren(text, hidden(` ${this.name}`));
  }
}

/** The node cards, master first, one column each. */
export class NodesView {
  readonly #master: MasterCard;
  readonly #secondaries = new Map<string, SecondaryCard>();

  constructor(
    private readonly container: HTMLElement,
    masterName: string,
    private readonly action: FaultAction,
  ) {
    this.#master = new MasterCard(masterName);
    container.append(this.#master.root);
  }

  update(state: DashboardState): void {
    this.#master.update(state);
    for (const view of state.secondaries) {
      let card = this.#secondaries.get(view.name);
      if (card === undefined) {
        card = new SecondaryCard(view.name, this.action);
        this.#secondaries.set(view.name, card);
        this.container.append(card.root);
      }
      card.update(view);
    }
  }
}

interface Row {
  readonly row: HTMLTableRowElement;
  readonly cells: HTMLTableCellElement[];
}

/** What a node's column shows for one id. */
function cellFor(
  id: number,
  entries: ReadonlyMap<number, TailEntry>,
  lastId: number | null,
): { text: string; className: string; title: string } {
  const entry = entries.get(id);
  if (entry !== undefined) {
    const title =
      entry.fullLength === undefined
        ? entry.message
        : `${entry.message} (cut; ${entry.fullLength} characters)`;
    return { text: entry.message, className: 'held', title };
  }
  if (lastId === null) return { text: 'not known yet', className: 'unknown', title: '' };
  if (id <= lastId) return { text: 'held', className: 'held', title: '' };
  return { text: 'missing', className: 'missing', title: `not yet replicated to this node` };
}

/**
 * The logs side by side: one row per id of the master's last entries (newest first), one column
 * per node; an entry a secondary does not hold yet is shown as missing.
 */
export class LogTable {
  readonly #rows = new Map<number, Row>();
  #columns = '';
  #empty: HTMLTableRowElement | undefined;
  #rendered = false;

  constructor(
    private readonly head: HTMLTableRowElement,
    private readonly body: HTMLTableSectionElement,
  ) {}

  update(state: DashboardState): void {
    const columns = [
      {
        name: state.master.name,
        lastId: state.master.lastId as number | null,
        tail: state.master.tail,
        stale: false,
      },
      ...state.secondaries.map((view) => ({
        name: view.name,
        lastId: view.lastId,
        tail: view.tail,
        stale: view.reach === 'unreachable',
      })),
    ];
    this.#renderHead(columns.map((column) => column.name));
    for (const [index, column] of columns.entries()) {
      const th = this.head.children[index + 1];
      if (th !== undefined)
        setText(th, column.stale ? `${column.name} (unreachable)` : column.name);
    }
    const byNode = columns.map((column) => new Map(column.tail.map((entry) => [entry.id, entry])));
    const ids = state.master.tail.map((entry) => entry.id).reverse();
    this.#renderEmpty(ids.length === 0, columns.length + 1);

    const wanted = new Set(ids);
    for (const [id, row] of this.#rows) {
      if (!wanted.has(id)) {
        row.row.remove();
        this.#rows.delete(id);
      }
    }
    ids.forEach((id, position) => {
      let row = this.#rows.get(id);
      if (row === undefined) {
        row = this.#newRow(id, columns.length);
        this.#rows.set(id, row);
        if (this.#rendered) flash(row.row, 'fresh');
      }
      if (this.body.children[position] !== row.row) {
        this.body.insertBefore(row.row, this.body.children[position] ?? null);
      }
      for (const [index, column] of columns.entries()) {
        const cell = row.cells[index];
        const entries = byNode[index];
        if (cell === undefined || entries === undefined) continue;
        const shown = cellFor(id, entries, column.lastId);
        setText(cell, shown.text);
        if (cell.title !== shown.title) cell.title = shown.title;
        const kind = `${shown.className}${column.stale ? ' stale' : ''}`;
        const before = cell.dataset['kind'];
        if (before === kind) continue;
        cell.className = kind;
        cell.dataset['kind'] = kind;
        if (
          this.#rendered &&
          before?.startsWith('missing') === true &&
          shown.className === 'held'
        ) {
          flash(cell, 'arrived');
        }
      }
    });
    this.#rendered = true;
  }

  #renderHead(names: readonly string[]): void {
    const key = names.join('\n');
    if (key === this.#columns) return;
    this.#columns = key;
    this.head.replaceChildren(
      el('th', { text: 'id', attrs: { scope: 'col' } }),
      ...names.map((name) => el('th', { text: name, attrs: { scope: 'col' } })),
    );
    for (const row of this.#rows.values()) row.row.remove();
    this.#rows.clear();
  }

  #renderEmpty(empty: boolean, span: number): void {
    if (!empty) {
      this.#empty?.remove();
      this.#empty = undefined;
      return;
    }
    if (this.#empty !== undefined) return;
    this.#empty = el(
      'tr',
      {},
      el('td', { text: 'No entries yet: append one above.', attrs: { colspan: String(span) } }),
    );
    this.body.append(this.#empty);
  }

  #newRow(id: number, count: number): Row {
    const cells = Array.from({ length: count }, () => el('td'));
    const row = el(
      'tr',
      { attrs: { 'data-id': String(id) } },
      el('th', { text: String(id), attrs: { scope: 'row' } }),
      ...cells,
    );
    return { row, cells };
  }
}
