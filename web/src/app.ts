// The page around the views: the API, messages, the reviewer's token, the progress count, dialogs,
// and decisions (sent with the encounter's version; 401 and 409 answered in words; each one kept
// to undo).
import { Api, ApiError } from './api.js';
import { clear, count, h } from './dom.js';
import { shownKeys, type Shortcut } from './shortcuts.js';
import { load, loadToken, save, saveToken, type MadeDecision } from './storage.js';
import type { Decision, DecisionRequest, DecisionResponse, Encounter, Page, Stats } from './types.js';

export type MessageKind = 'info' | 'ok' | 'warn' | 'error';

export type DecisionOutcome =
  | { ok: true; response: DecisionResponse }
  | { ok: false; status: number; error: string; current: unknown };

export interface View {
  readonly title: string;
  shortcuts(): Shortcut[];
  dispose(): void;
  /** A decision made elsewhere (an undo from the header) may concern it: reload. */
  refresh?(): void;
}

export interface Field {
  name: string;
  label: string;
  value?: string;
  placeholder?: string;
  options?: readonly string[];
}

/** What a decision did, in words. */
export function describeRequest(req: DecisionRequest, res?: DecisionResponse): string {
  switch (req.action) {
    case 'confirm':
      return `encounter ${req.encounterId} confirmed as ${req.individualId}`;
    case 'new-individual':
      return `encounter ${req.encounterId} is a new individual${res?.encounter?.individualId ? ` ${res.encounter.individualId}` : ''}${req.name ? ` “${req.name}”` : ''}`;
    case 'unidentifiable':
      return `encounter ${req.encounterId} marked unidentifiable`;
    case 'skip':
      return `encounter ${req.encounterId} skipped`;
    case 'merge':
      return `${req.individualId} merged into ${req.into}`;
    case 'move-photo':
      return `photo ${req.photoId} moved out to a new encounter${res?.decision.after && typeof res.decision.after === 'object' && 'createdEncounter' in res.decision.after ? ` (${String((res.decision.after as { createdEncounter: number }).createdEncounter)})` : ''}`;
    case 'undo':
      return `decision ${req.decisionId} undone`;
  }
}

/** A record as a 409 returns it, in words. */
export function describeCurrent(current: unknown): string {
  if (!current || typeof current !== 'object') return '';
  const c = current as Partial<Encounter> & { action?: string; undoneBy?: number | null };
  if (typeof c.status === 'string' && typeof c.id === 'number') {
    return `encounter ${c.id} is now ${c.status}${c.individualId ? ` as ${c.individualId}` : ''} (version ${c.version ?? '?'})`;
  }
  if (typeof c.action === 'string' && typeof c.id === 'number') return `decision ${c.id} (${c.action})${c.undoneBy ? ` was undone by decision ${c.undoneBy}` : ''}`;
  return '';
}

export class App {
  readonly api = new Api();
  stats: Stats | null = null;
  /** Species seen anywhere on the page, offered in the species fields. */
  readonly species = new Set<string>();
  view: View | null = null;
  private readonly messageEl: HTMLElement;
  private readonly progressEl: HTMLElement;
  private readonly userEl: HTMLElement;
  private readonly tokenLabel: HTMLElement;
  private readonly tokenInput: HTMLInputElement;
  private readonly help: HTMLElement;
  private readonly speciesList: HTMLDataListElement;
  private messageTimer = 0;

  constructor(private readonly render: () => void) {
    this.messageEl = byId('message');
    this.progressEl = byId('progress');
    this.userEl = byId('user');
    this.tokenLabel = byId('token-field');
    this.tokenInput = byId('token') as HTMLInputElement;
    this.help = byId('help');
    this.speciesList = byId('species-list') as HTMLDataListElement;
    this.tokenInput.value = loadToken();
    this.tokenInput.addEventListener('change', () => {
      saveToken(this.tokenInput.value);
      this.message(this.tokenInput.value.trim() ? 'Token saved in this browser; it is sent with each request.' : 'Token cleared.', 'info');
      void this.refreshStats().then(() => this.view?.refresh?.());
    });
    byId('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.tokenInput.dispatchEvent(new Event('change'));
    });
    byId('help-button').addEventListener('click', () => this.toggleHelp());
    this.help.addEventListener('click', (e) => {
      if (e.target === this.help) this.toggleHelp(false);
    });
  }

  // ---- messages ----

  message(text: string, kind: MessageKind = 'info'): void {
    this.messageEl.textContent = text;
    this.messageEl.className = `message ${kind}`;
    this.messageEl.hidden = !text;
    window.clearTimeout(this.messageTimer);
    if (kind === 'ok' || kind === 'info') this.messageTimer = window.setTimeout(() => (this.messageEl.hidden = true), 8000);
  }

  /** Says what went wrong; a 401 says how to give a token. */
  fail(err: unknown, what: string): void {
    if (err instanceof ApiError && err.status === 401) {
      this.tokenLabel.hidden = false;
      const given = loadToken() !== '';
      this.message(
        given
          ? `Not allowed to ${what}: the server did not accept your reviewer token (${err.message}). Check the Token field at the top, or ask for a new token (finprint catalogue user add).`
          : `Not allowed to ${what}: this review server needs a reviewer token (${err.message}). Paste yours into the Token field at the top; an administrator makes one with finprint catalogue user add CATALOGUE NAME.`,
        'error',
      );
      this.tokenInput.classList.add('attention');
      this.tokenInput.focus();
      return;
    }
    this.message(`Could not ${what}: ${err instanceof Error ? err.message : String(err)}`, 'error');
  }

  // ---- stats, progress, token ----

  async refreshStats(): Promise<void> {
    try {
      this.stats = await this.api.get<Stats>('/stats');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && !this.api.writesNeedToken) {
        // The server needs a token for every call (it listens beyond this machine): send the stored one.
        this.api.writesNeedToken = true;
        this.tokenLabel.hidden = false;
        if (loadToken()) return this.refreshStats();
      }
      this.fail(err, 'read the catalogue');
      return;
    }
    const s = this.stats;
    this.api.writesNeedToken = s.writesNeedToken;
    this.tokenLabel.hidden = !s.writesNeedToken && !loadToken();
    this.tokenLabel.title = s.writesNeedToken ? 'This server records decisions only with a reviewer token' : 'This server does not ask for a token';
    if (s.writesNeedToken && loadToken()) this.tokenInput.classList.remove('attention');
    const e = s.encounters;
    const all = e.unreviewed + e.confirmed + e.unidentifiable + e.skipped;
    const done = all - e.unreviewed;
    this.progressEl.textContent = `${done.toLocaleString('en')} of ${count(all, 'encounter')} reviewed · ${e.unreviewed.toLocaleString('en')} to go`;
    this.progressEl.dataset.unreviewed = String(e.unreviewed);
    const bar = byId('progress-bar') as HTMLProgressElement;
    bar.max = Math.max(1, all);
    bar.value = done;
    this.userEl.textContent = s.user ? `reviewing as ${s.user}` : s.writesNeedToken ? 'no token: read only' : '';
    const field = byId('field-link') as HTMLAnchorElement;
    field.hidden = !s.fieldPage;
    if (s.fieldPage) field.href = s.fieldPage;
  }

  noteSpecies(...names: (string | null | undefined)[]): void {
    let added = false;
    for (const n of names) {
      if (n && !this.species.has(n)) {
        this.species.add(n);
        added = true;
      }
    }
    if (!added) return;
    clear(this.speciesList);
    for (const n of [...this.species].sort()) this.speciesList.append(h('option', { value: n }));
  }

  // ---- navigation ----

  go(hash: string): void {
    if (location.hash === hash) this.render();
    else location.hash = hash;
  }

  // ---- decisions ----

  get made(): MadeDecision[] {
    return load<MadeDecision[]>('decisions', []);
  }

  private set made(list: MadeDecision[]) {
    save('decisions', list.slice(-200));
  }

  /** Sends a decision; kept to undo when it is made. 401 and errors are said here; the caller handles a 409. */
  async decide(req: DecisionRequest): Promise<DecisionOutcome> {
    try {
      const response = await this.api.post<DecisionResponse>('/decisions', req);
      const label = describeRequest(req, response);
      if (req.action !== 'undo') {
        this.made = [...this.made, { id: response.decision.id, at: response.decision.at, label, encounterId: response.decision.encounterId, individualId: response.decision.individualId }];
      }
      this.message(`${capitalise(label)} (decision ${response.decision.id}, by ${response.decision.user}). Press z to undo.`, 'ok');
      void this.refreshStats();
      return { ok: true, response };
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const now = describeCurrent(err.current);
        this.message(`Not done: ${err.message}.${now ? ` Now: ${now}.` : ''} Reloaded to show the current state.`, 'warn');
        return { ok: false, status: 409, error: err.message, current: err.current };
      }
      this.fail(err, `record “${describeRequest(req)}”`);
      return { ok: false, status: err instanceof ApiError ? err.status : 0, error: err instanceof Error ? err.message : String(err), current: undefined };
    }
  }

  /** Undoes the last decision made from this browser (z). */
  async undoLast(): Promise<void> {
    const list = this.made;
    const last = list[list.length - 1];
    if (!last) {
      this.message('Nothing to undo: no decision made from this browser is left. Older decisions are listed with their encounter or individual, each with its own undo.', 'info');
      return;
    }
    // The server may now serve another catalogue (same address): undo only the very decision made.
    try {
      const query = last.encounterId !== null ? { encounterId: last.encounterId, limit: 500 } : { individualId: last.individualId ?? '', limit: 500 };
      const log = await this.api.get<Page<Decision>>('/decisions', query);
      if (!log.items.some((d) => d.id === last.id && d.at === last.at)) {
        this.made = list.slice(0, -1);
        this.message(`Not undone: “${last.label}” (decision ${last.id}) is not in the catalogue served now; it was forgotten. Press z again for the one before.`, 'warn');
        return;
      }
    } catch (err) {
      this.fail(err, `check decision ${last.id} before undoing it`);
      return;
    }
    await this.undo(last.id, last.label);
  }

  async undo(decisionId: number, label: string): Promise<boolean> {
    try {
      await this.api.post<DecisionResponse>('/decisions', { action: 'undo', decisionId } satisfies DecisionRequest);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 409 || err.status === 404 || err.status === 400)) {
        if (/already undone|no decision/.test(err.message)) this.made = this.made.filter((d) => d.id !== decisionId);
        const now = describeCurrent(err.current);
        this.message(`Cannot undo “${label}”: ${err.message}.${now ? ` Now: ${now}.` : ''}`, 'warn');
        this.view?.refresh?.();
        return false;
      }
      this.fail(err, `undo “${label}”`);
      return false;
    }
    const undone = this.made.find((d) => d.id === decisionId);
    this.made = this.made.filter((d) => d.id !== decisionId);
    this.message(`Undone: ${label}.${undone?.encounterId ? ` Encounter ${undone.encounterId} is as it was before.` : ''}`, 'ok');
    void this.refreshStats();
    if (undone?.encounterId && /^encounter \d+ (confirmed|is a new|marked|skipped)/.test(undone.label)) this.go(`#/encounter/${undone.encounterId}`);
    else this.view?.refresh?.();
    return true;
  }

  // ---- dialogs ----

  /** A small form in a modal dialog; resolves to its values, or null when cancelled. */
  ask(title: string, text: string, fields: readonly Field[], submit: string): Promise<Record<string, string> | null> {
    return new Promise((resolve) => {
      const inputs = fields.map((f) => {
        const listId = f.options ? `dialog-list-${f.name}` : undefined;
        const input = h('input', { name: f.name, value: f.value ?? '', placeholder: f.placeholder ?? '', autocomplete: 'off', list: listId });
        return h('label', {}, f.label, input, f.options ? h('datalist', { id: listId! }, f.options.map((o) => h('option', { value: o }))) : null);
      });
      const form = h('form', { method: 'dialog' }, h('h2', {}, title), text ? h('p', {}, text) : null, inputs,
        h('menu', {}, h('button', { type: 'button', value: 'cancel', class: 'secondary' }, 'Cancel (Esc)'), h('button', { type: 'submit', value: 'ok', class: 'primary' }, `${submit} (Enter)`)));
      const dialog = h('dialog', { class: 'ask' }, form);
      let answered = false;
      const finish = (value: Record<string, string> | null): void => {
        if (answered) return;
        answered = true;
        dialog.close();
        dialog.remove();
        resolve(value);
      };
      form.querySelector('button[value=cancel]')!.addEventListener('click', () => finish(null));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        finish(Object.fromEntries(fields.map((f) => [f.name, ((form.elements.namedItem(f.name) as HTMLInputElement | null)?.value ?? '').trim()])));
      });
      dialog.addEventListener('close', () => finish(null));
      document.body.append(dialog);
      dialog.showModal();
      const first = form.querySelector('input');
      if (first) first.focus();
      else (form.querySelector('button[type=submit]') as HTMLButtonElement).focus();
    });
  }

  get dialogOpen(): boolean {
    return document.querySelector('dialog[open]') !== null;
  }

  // ---- the shortcuts overlay ----

  toggleHelp(show = this.help.hidden): void {
    if (show) {
      const global = this.globalShortcuts();
      const here = this.view?.shortcuts() ?? [];
      const table = (title: string, list: Shortcut[]): HTMLElement =>
        h('section', {}, h('h3', {}, title), h('table', {}, h('tbody', {}, list.map((s) => h('tr', {}, h('th', {}, h('kbd', {}, shownKeys(s))), h('td', {}, s.label))))));
      clear(this.help);
      this.help.append(h('div', { class: 'help-card', role: 'dialog', 'aria-label': 'Keyboard shortcuts' },
        h('h2', {}, 'Keyboard shortcuts'),
        here.length ? table(this.view?.title ?? 'This page', here) : null,
        table('Everywhere', global),
        h('p', { class: 'hint' }, 'Shortcuts do nothing while you type in a field; Esc leaves the field.')));
    }
    this.help.hidden = !show;
  }

  get helpOpen(): boolean {
    return !this.help.hidden;
  }

  globalShortcuts(): Shortcut[] {
    return [
      { keys: ['?'], label: 'show or hide these shortcuts', run: () => this.toggleHelp() },
      { keys: ['z'], label: 'undo the last decision made from this browser', run: () => void this.undoLast() },
      { keys: ['q'], label: 'the review queue', run: () => this.go('#/queue') },
      { keys: ['c'], label: 'catalogue stats and individuals', run: () => this.go('#/catalogue') },
    ];
  }
}

export function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
