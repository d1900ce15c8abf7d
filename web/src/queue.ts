// The review queue: encounters waiting for a decision, sorted by the best candidate's match
// probability (or date, species, id), filtered by species and date; its filters, sort, page and
// selected row are kept across reloads.
import type { App, View } from './app.js';
import { clear, count, day, h, percent, place, score } from './dom.js';
import type { Shortcut } from './shortcuts.js';
import { load, QUEUE_DEFAULTS, save, type Place, PLACE_DEFAULTS, type QueuePrefs } from './storage.js';
import { ENCOUNTER_STATUSES, type QueueItem, type QueuePage } from './types.js';

export function queueParams(prefs: QueuePrefs, offset = prefs.offset, limit = prefs.limit): Record<string, string | number> {
  return { status: prefs.status, species: prefs.species, from: prefs.from, to: prefs.to, sort: prefs.sort, offset, limit };
}

export class QueueView implements View {
  readonly title = 'Review queue';
  private prefs: QueuePrefs = load('queue', QUEUE_DEFAULTS);
  private page: QueuePage | null = null;
  private readonly root: HTMLElement;
  private readonly body: HTMLElement;
  private readonly summary: HTMLElement;
  private loading = 0;

  constructor(private readonly app: App, container: HTMLElement) {
    const p = this.prefs;
    const field = (label: string, input: HTMLElement): HTMLElement => h('label', {}, label, input);
    const status = h('select', { name: 'status' }, ENCOUNTER_STATUSES.map((s) => h('option', { value: s, selected: s === p.status }, s)));
    const species = h('input', { name: 'species', value: p.species, list: 'species-list', placeholder: 'any', size: 14 });
    const from = h('input', { name: 'from', type: 'date', value: p.from });
    const to = h('input', { name: 'to', type: 'date', value: p.to });
    const sort = h('select', { name: 'sort' },
      (['probability', 'date', 'species', 'id'] as const).map((s) => h('option', { value: s, selected: s === p.sort }, { probability: 'best match probability', date: 'date', species: 'species', id: 'arrival' }[s])));
    const form = h('form', { class: 'filters', 'aria-label': 'Queue filters' },
      field('Status', status), field('Species', species), field('From', from), field('To', to), field('Sort by', sort),
      h('button', { type: 'submit' }, 'Apply'),
      h('button', { type: 'button', class: 'secondary', onclick: () => this.resetFilters() }, 'Clear'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      (document.activeElement as HTMLElement | null)?.blur();
      this.prefs = { ...this.prefs, status: status.value, species: species.value.trim(), from: from.value, to: to.value, sort: sort.value as QueuePrefs['sort'], offset: 0, selected: 0 };
      save('queue', this.prefs);
      void this.load();
    });
    for (const el of [status, sort]) el.addEventListener('change', () => form.requestSubmit());

    const upload = h('input', { type: 'file', multiple: true, accept: 'image/*', hidden: true });
    upload.addEventListener('change', () => void this.upload(upload));
    this.summary = h('p', { class: 'summary', role: 'status' });
    this.body = h('div', { class: 'queue-body' });
    this.root = h('section', { class: 'queue', 'data-view': 'queue' },
      h('div', { class: 'toolbar' }, h('h2', {}, 'Review queue'), form,
        h('button', { type: 'button', class: 'secondary', onclick: () => upload.click(), title: 'Add photos as new encounters to review' }, 'Add photos…'), upload),
      this.summary, this.body);
    container.append(this.root);
    void this.load();
  }

  dispose(): void {
    this.root.remove();
  }

  refresh(): void {
    void this.load();
  }

  private resetFilters(): void {
    this.prefs = { ...QUEUE_DEFAULTS, sort: this.prefs.sort, limit: this.prefs.limit };
    save('queue', this.prefs);
    // Drawn again, with the fields cleared.
    this.app.go('#/queue');
  }

  private async load(): Promise<void> {
    const ticket = ++this.loading;
    this.summary.textContent = 'Loading…';
    try {
      const page = await this.app.api.get<QueuePage>('/queue', queueParams(this.prefs));
      if (ticket !== this.loading) return;
      if (page.items.length === 0 && this.prefs.offset > 0 && page.total > 0) {
        this.prefs.offset = Math.max(0, Math.floor((page.total - 1) / this.prefs.limit) * this.prefs.limit);
        save('queue', this.prefs);
        return this.load();
      }
      this.page = page;
      this.app.noteSpecies(...page.items.map((i) => i.species));
      this.draw();
    } catch (err) {
      if (ticket !== this.loading) return;
      this.summary.textContent = '';
      this.app.fail(err, 'load the queue');
    }
  }

  private draw(): void {
    const page = this.page!;
    const p = this.prefs;
    clear(this.body);
    const first = p.offset + 1;
    const last = p.offset + page.items.length;
    this.summary.textContent = page.total === 0
      ? `No ${p.status} encounters${p.species || p.from || p.to ? ' match these filters' : ''}.`
      : `${count(page.total, `${p.status} encounter`)}${p.species || p.from || p.to ? ' matching' : ''}; showing ${first}–${last}. Enter or click opens one; j/k move.`;
    this.summary.dataset.total = String(page.total);
    if (page.items.length === 0) return;
    p.selected = Math.min(Math.max(0, p.selected), page.items.length - 1);
    const rows = page.items.map((item, i) =>
      h('tr', { class: i === p.selected ? 'selected' : '', 'data-encounter-id': item.id, onclick: () => this.open(i) },
        h('td', { class: 'num' }, p.offset + i + 1),
        h('td', {}, item.photos[0] !== undefined ? this.app.api.img(this.app.api.thumbnailUrl(item.photos[0], 128), { class: 'thumb', alt: `encounter ${item.id}`, loading: 'lazy' }) : '—'),
        h('td', {}, h('a', { href: `#/encounter/${item.id}`, onclick: (e: Event) => { e.preventDefault(); this.open(i); } }, `Encounter ${item.id}`), item.photos.length > 1 ? h('span', { class: 'muted' }, ` · ${item.photos.length} photos`) : null),
        h('td', {}, day(item.date)),
        h('td', {}, item.species ?? h('span', { class: 'muted' }, 'unknown')),
        h('td', {}, place(item.latitude, item.longitude)),
        h('td', { class: 'num' }, probabilityBar(item.bestProbability)),
        h('td', { class: 'num' }, score(item.bestScore)),
        h('td', {}, item.status === 'confirmed' && item.individualId ? h('a', { href: `#/individual/${encodeURIComponent(item.individualId)}` }, item.individualId) : item.status)));
    const table = h('table', { class: 'queue-table' },
      h('thead', {}, h('tr', {}, ['#', 'Photo', 'Encounter', 'Date', 'Species', 'Position', 'Best P(same)', 'Best score', 'Status'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows));
    const pager = h('div', { class: 'pager' },
      h('button', { type: 'button', class: 'secondary', disabled: p.offset === 0, onclick: () => this.turn(-1) }, '← Previous page'),
      h('span', {}, `page ${Math.floor(p.offset / p.limit) + 1} of ${Math.max(1, Math.ceil(page.total / p.limit))}`),
      h('button', { type: 'button', class: 'secondary', disabled: last >= page.total, onclick: () => this.turn(1) }, 'Next page →'));
    this.body.append(table, pager);
    if (p.selected > 0) this.scrollToSelected();
  }

  private scrollToSelected(): void {
    this.body.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' });
  }

  private select(i: number): void {
    if (!this.page || this.page.items.length === 0) return;
    this.prefs.selected = Math.min(Math.max(0, i), this.page.items.length - 1);
    save('queue', this.prefs);
    this.body.querySelectorAll('tbody tr').forEach((tr, k) => tr.classList.toggle('selected', k === this.prefs.selected));
    this.scrollToSelected();
  }

  private turn(direction: number): void {
    if (!this.page) return;
    const offset = this.prefs.offset + direction * this.prefs.limit;
    if (offset < 0 || offset >= this.page.total) return;
    this.prefs = { ...this.prefs, offset, selected: 0 };
    save('queue', this.prefs);
    void this.load();
  }

  private open(i: number): void {
    const item: QueueItem | undefined = this.page?.items[i];
    if (!item) return;
    this.select(i);
    save('place', { ...load<Place>('place', PLACE_DEFAULTS), queueIndex: this.prefs.offset + i });
    this.app.go(`#/encounter/${item.id}`);
  }

  private async upload(input: HTMLInputElement): Promise<void> {
    const files = [...(input.files ?? [])];
    input.value = '';
    if (files.length === 0) return;
    const form = new FormData();
    for (const f of files) form.append('file', f, f.name);
    this.app.message(`Uploading ${count(files.length, 'photo')}…`, 'info');
    try {
      const r = await this.app.api.upload<{ results: { name: string; status: 'added' | 'duplicate' | 'rejected'; reason?: string }[] }>('/photos', form);
      const n = (s: string): number => r.results.filter((x) => x.status === s).length;
      const rejected = r.results.filter((x) => x.status === 'rejected');
      this.app.message(`${count(n('added'), 'new encounter')} to review, ${n('duplicate')} already in the catalogue, ${rejected.length} not added${rejected.length ? `: ${rejected.map((x) => x.reason ?? x.name).join('; ')}` : ''}.`, rejected.length ? 'warn' : 'ok');
      void this.app.refreshStats();
      void this.load();
    } catch (err) {
      this.app.fail(err, 'add the photos');
    }
  }

  shortcuts(): Shortcut[] {
    const sel = (): number => this.prefs.selected;
    return [
      { keys: ['j', 'ArrowDown'], label: 'next encounter in the list', run: () => this.select(sel() + 1) },
      { keys: ['k', 'ArrowUp'], label: 'previous encounter in the list', run: () => this.select(sel() - 1) },
      { keys: ['Enter', 'o'], label: 'open the selected encounter', run: () => this.open(sel()) },
      { keys: ['ArrowRight', ']'], label: 'next page', run: () => this.turn(1) },
      { keys: ['ArrowLeft', '['], label: 'previous page', run: () => this.turn(-1) },
      { keys: ['/'], label: 'filter by species', run: () => (this.root.querySelector('input[name=species]') as HTMLInputElement).focus() },
    ];
  }
}

export function probabilityBar(p: number | null): HTMLElement {
  return h('span', { class: 'prob', title: p === null ? 'no calibration: this catalogue has no probabilities' : `P(same individual) ${percent(p)}` },
    h('span', { class: 'prob-bar' }, h('span', { style: `width:${Math.round((p ?? 0) * 100)}%` })), h('span', { class: 'prob-text' }, percent(p)));
}
