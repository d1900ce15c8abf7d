// The catalogue at a glance: its numbers (from /api/stats) and its individuals, by species.
import type { App, View } from './app.js';
import { clear, count, day, h } from './dom.js';
import type { Shortcut } from './shortcuts.js';
import { load, save } from './storage.js';
import type { IndividualSummary, Page } from './types.js';

const LIMIT = 50;

export class CataloguePage implements View {
  readonly title = 'The catalogue';
  private readonly root: HTMLElement;
  private readonly stats: HTMLElement;
  private readonly list: HTMLElement;
  private prefs = load('individuals', { species: '', offset: 0 });
  private page: Page<IndividualSummary> | null = null;
  private selected = 0;

  constructor(private readonly app: App, container: HTMLElement) {
    this.stats = h('div', { class: 'stats' });
    const species = h('input', { name: 'species', value: this.prefs.species, list: 'species-list', placeholder: 'any', size: 16 });
    const form = h('form', { class: 'filters' }, h('label', {}, 'Species', species), h('button', { type: 'submit' }, 'Show'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      (document.activeElement as HTMLElement | null)?.blur();
      this.prefs = { species: species.value.trim(), offset: 0 };
      save('individuals', this.prefs);
      void this.loadList();
    });
    this.list = h('div', { class: 'individual-list' });
    this.root = h('section', { class: 'catalogue', 'data-view': 'catalogue' }, h('h2', {}, 'Catalogue'), this.stats, h('div', { class: 'toolbar' }, h('h3', {}, 'Individuals'), form), this.list);
    container.append(this.root);
    void this.loadStats();
    void this.loadList();
  }

  dispose(): void {
    this.root.remove();
  }

  refresh(): void {
    void this.loadStats();
    void this.loadList();
  }

  private async loadStats(): Promise<void> {
    await this.app.refreshStats();
    const s = this.app.stats;
    if (!s) return;
    const e = s.encounters;
    const all = e.unreviewed + e.confirmed + e.unidentifiable + e.skipped;
    const card = (n: number | string, label: string): HTMLElement => h('div', { class: 'stat' }, h('strong', {}, typeof n === 'number' ? n.toLocaleString('en') : n), h('span', {}, label));
    clear(this.stats);
    this.stats.append(
      card(s.individuals, 'individuals'),
      card(s.photos, 'photos'),
      card(all, 'encounters'),
      card(e.unreviewed, 'to review'),
      card(e.confirmed, 'confirmed'),
      card(e.unidentifiable, 'unidentifiable'),
      card(e.skipped, 'skipped'),
      card(s.decisions, 'decisions'),
      h('dl', { class: 'meta' },
        h('dt', {}, 'Model'), h('dd', { title: s.model }, s.model.slice(0, 12)),
        h('dt', {}, 'Run'), h('dd', {}, s.run),
        h('dt', {}, 'Reviewer'), h('dd', {}, s.user ?? '—'),
        h('dt', {}, 'Decisions need a token'), h('dd', {}, s.writesNeedToken ? 'yes' : 'no')));
  }

  private async loadList(): Promise<void> {
    try {
      this.page = await this.app.api.get<Page<IndividualSummary>>('/individuals', { species: this.prefs.species, offset: this.prefs.offset, limit: LIMIT });
    } catch (err) {
      this.app.fail(err, 'list the individuals');
      return;
    }
    this.app.noteSpecies(...this.page.items.map((i) => i.species));
    const p = this.page;
    clear(this.list);
    this.selected = Math.min(this.selected, Math.max(0, p.items.length - 1));
    this.list.append(
      h('p', { class: 'muted' }, `${count(p.total, 'individual')}${this.prefs.species ? ` of ${this.prefs.species}` : ''}${p.total ? `; ${this.prefs.offset + 1}–${this.prefs.offset + p.items.length}` : ''}`),
      h('table', {},
        h('thead', {}, h('tr', {}, ['Individual', 'Name', 'Species', 'Encounters', 'Photos', 'Last seen'].map((t) => h('th', {}, t)))),
        h('tbody', {}, p.items.map((i, k) => h('tr', { class: k === this.selected ? 'selected' : '', onclick: () => this.app.go(`#/individual/${encodeURIComponent(i.id)}`) },
          h('td', {}, h('a', { href: `#/individual/${encodeURIComponent(i.id)}` }, i.id)),
          h('td', {}, i.name ?? ''),
          h('td', {}, i.species ?? ''),
          h('td', { class: 'num' }, i.encounters),
          h('td', { class: 'num' }, i.photos),
          h('td', {}, i.lastSeen ? day(i.lastSeen) : '—'))))),
      h('div', { class: 'pager' },
        h('button', { type: 'button', class: 'secondary', disabled: this.prefs.offset === 0, onclick: () => this.turn(-1) }, '← Previous'),
        h('button', { type: 'button', class: 'secondary', disabled: this.prefs.offset + LIMIT >= p.total, onclick: () => this.turn(1) }, 'Next →')));
  }

  private turn(direction: number): void {
    const offset = this.prefs.offset + direction * LIMIT;
    if (offset < 0 || (this.page && offset >= this.page.total)) return;
    this.prefs = { ...this.prefs, offset };
    save('individuals', this.prefs);
    this.selected = 0;
    void this.loadList();
  }

  private select(k: number): void {
    const n = this.page?.items.length ?? 0;
    if (!n) return;
    this.selected = Math.min(Math.max(0, k), n - 1);
    this.list.querySelectorAll('tbody tr').forEach((tr, i) => tr.classList.toggle('selected', i === this.selected));
    this.list.querySelector('tbody tr.selected')?.scrollIntoView({ block: 'nearest' });
  }

  shortcuts(): Shortcut[] {
    return [
      { keys: ['j', 'ArrowDown'], label: 'next individual', run: () => this.select(this.selected + 1) },
      { keys: ['k', 'ArrowUp'], label: 'previous individual', run: () => this.select(this.selected - 1) },
      { keys: ['Enter', 'o'], label: 'open the selected individual', run: () => { const i = this.page?.items[this.selected]; if (i) this.app.go(`#/individual/${encodeURIComponent(i.id)}`); } },
      { keys: ['ArrowRight', ']'], label: 'next page', run: () => this.turn(1) },
      { keys: ['ArrowLeft', '['], label: 'previous page', run: () => this.turn(-1) },
    ];
  }
}
