import { el, setText } from './dashboard-render.js';

/**
 * A bearer token the user types in for one kind of request (the cluster token for the fault
 * buttons, the API token for appends): a panel with a password field and a Forget button, kept in
 * sessionStorage so that it lasts for this tab only. The caller sends `headers()` with its own
 * requests and nothing else, and calls `ask()` when the master answers 401.
 */

export interface TokenFieldSpec {
  /** Id of the input; the panel's other elements' ids start with it. */
  readonly id: string;
  /** The token as a sentence names it, such as "cluster token". */
  readonly noun: string;
  readonly storageKey: string;
  /** When it is needed, before "Kept in this tab only." */
  readonly hint: readonly (Node | string)[];
}

export class TokenField {
  readonly root: HTMLElement;
  /** What a request's report says when the master refused it for want of this token. */
  readonly refusal: string;
  readonly #spec: TokenFieldSpec;
  readonly #input: HTMLInputElement;
  readonly #status: HTMLElement;

  constructor(spec: TokenFieldSpec) {
    this.#spec = spec;
    const title = `${spec.noun.charAt(0).toUpperCase()}${spec.noun.slice(1)}`;
    this.refusal = `Refused: this needs the ${spec.noun} (see "${title}").`;
    const headingId = `${spec.id}-heading`;
    // Named by its heading: a bare "Token" would not tell one field from the other.
    this.#input = el('input', {
      attrs: {
        id: spec.id,
        type: 'password',
        autocomplete: 'off',
        spellcheck: 'false',
        'aria-labelledby': headingId,
      },
    });
    this.#status = el('p', {
      className: 'token-status',
      attrs: { id: `${spec.id}-status`, role: 'status' },
    });
    const forget = el(
      'button',
      { className: 'quiet', attrs: { id: `${spec.id}-forget`, type: 'button' } },
      'Forget',
    );
    this.root = el(
      'section',
      { className: 'panel', attrs: { 'aria-labelledby': headingId } },
      el('h2', { text: title, attrs: { id: headingId } }),
      el('p', { className: 'hint' }, ...spec.hint, ' Kept in this tab only.'),
      el(
        'div',
        { className: 'field-row' },
        el('label', { text: 'Token', attrs: { for: spec.id } }),
        this.#input,
        forget,
      ),
      this.#status,
    );

    this.#input.value = this.#stored();
    this.#input.addEventListener('input', () => {
      this.#store(this.#input.value.trim());
      this.clearPrompt();
      setText(this.#status, '');
    });
    forget.addEventListener('click', () => {
      this.#input.value = '';
      this.#store('');
      this.clearPrompt();
      setText(this.#status, 'Token forgotten.');
    });
  }

  set shown(shown: boolean) {
    this.root.hidden = !shown;
  }

  /** The header to send with this field's requests; none while it is empty. */
  headers(): Record<string, string> {
    const token = this.#input.value.trim();
    return token === '' ? {} : { authorization: `Bearer ${token}` };
  }

  /** The token was typed, forgotten or taken by the master: the prompt, if any, is over. */
  clearPrompt(): void {
    this.#input.removeAttribute('aria-invalid');
    this.#input.classList.remove('attention');
  }

  /** A 401 from the master: the token is missing or wrong; send the user to the field. */
  ask(): void {
    const filled = this.#input.value.trim() !== '';
    setText(
      this.#status,
      filled
        ? 'The master refused this token: check it, then retry.'
        : `The master asks for the ${this.#spec.noun}: enter it here, then retry.`,
    );
    this.shown = true;
    this.#input.setAttribute('aria-invalid', 'true');
    this.#input.classList.add('attention');
    this.#input.focus();
  }

  #stored(): string {
    try {
      return sessionStorage.getItem(this.#spec.storageKey) ?? '';
    } catch {
      return ''; // Storage can be switched off; the field then lasts as long as the page.
    }
  }

  #store(token: string): void {
    try {
      if (token === '') sessionStorage.removeItem(this.#spec.storageKey);
      else sessionStorage.setItem(this.#spec.storageKey, token);
    } catch {
      // As above: without storage the token is simply not kept.
    }
  }
}
