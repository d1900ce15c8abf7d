// One individual: its encounters on a timeline with their photos and positions (a small map of
// where it was seen), and what can be corrected here: merge it with another individual, move a
// photo that is not of it out, undo a decision about it.
import type { App, View } from './app.js';
import { ApiError } from './api.js';
import { append, clear, count, day, h, individualLabel, place } from './dom.js';
import type { Shortcut } from './shortcuts.js';
import type { Decision, IndividualView, Page, Photo } from './types.js';
import { PhotoViewer } from './viewer.js';

const SVG = 'http://www.w3.org/2000/svg';

export class IndividualPage implements View {
  readonly title = 'An individual';
  private data: IndividualView | null = null;
  private photos: Photo[] = [];
  private selected = 0;
  private readonly root: HTMLElement;
  private readonly body: HTMLElement;
  private readonly viewer = new PhotoViewer('Selected photo', 'individual-photo');

  constructor(private readonly app: App, container: HTMLElement, private readonly id: string) {
    this.body = h('div', { class: 'individual-body' });
    this.root = h('section', { class: 'individual', 'data-view': 'individual', 'data-individual-id': id }, this.body);
    container.append(this.root);
    void this.load();
  }

  dispose(): void {
    this.viewer.dispose();
    this.root.remove();
  }

  refresh(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      const [data, decisions] = await Promise.all([
        this.app.api.get<IndividualView>(`/individuals/${encodeURIComponent(this.id)}`),
        this.app.api.get<Page<Decision>>('/decisions', { individualId: this.id, limit: 500 }).catch(() => null),
      ]);
      this.data = data;
      this.photos = data.encounters.flatMap((e) => e.photos);
      this.selected = Math.min(this.selected, Math.max(0, this.photos.length - 1));
      this.app.noteSpecies(data.individual.species, ...data.encounters.map((e) => e.species));
      this.draw(decisions);
    } catch (err) {
      clear(this.body);
      if (err instanceof ApiError && err.status === 404) {
        this.body.append(h('h2', {}, this.id), h('p', { class: 'banner warn' }, `There is no individual ${this.id} (an undo may have removed it).`));
        return;
      }
      this.app.fail(err, `load individual ${this.id}`);
    }
  }

  private draw(decisions: Page<Decision> | null): void {
    const { individual: ind, encounters } = this.data!;
    const api = this.app.api;
    clear(this.body);
    const dated = encounters.filter((e) => e.date).map((e) => e.date!).sort();
    append(this.body, [
      h('div', { class: 'toolbar' },
        h('h2', {}, individualLabel(ind)),
        h('span', { class: 'species' }, ind.species ?? 'species unknown'),
        h('span', { class: 'muted' }, `${count(encounters.length, 'encounter')}, ${count(this.photos.length, 'photo')}${dated.length ? `, seen ${day(dated[0])} to ${day(dated[dated.length - 1])}` : ''}`),
        h('button', { type: 'button', class: 'secondary', onclick: () => void this.merge() }, 'Merge… ', h('kbd', {}, 'm')),
        h('button', { type: 'button', class: 'secondary', onclick: () => void this.moveOut(), disabled: this.photos.length === 0 }, 'Move selected photo out… ', h('kbd', {}, 'x'))),
      ind.mergedInto ? h('p', { class: 'banner warn' }, `${ind.id} was merged into `, h('a', { href: `#/individual/${encodeURIComponent(ind.mergedInto)}` }, ind.mergedInto), '.') : null,
    ]);
    const timeline = h('ol', { class: 'timeline' }, encounters.map((e) =>
      h('li', { 'data-encounter-id': e.id },
        h('div', { class: 'when' }, day(e.date)),
        h('div', { class: 'what' },
          h('a', { href: `#/encounter/${e.id}` }, `Encounter ${e.id}`),
          h('span', { class: 'muted' }, ` · ${place(e.latitude, e.longitude)}${e.observer ? ` · ${e.observer}` : ''}${e.species ? ` · ${e.species}` : ''}`),
          h('div', { class: 'strip' }, e.photos.map((p) => {
            const k = this.photos.indexOf(p);
            return h('button', { type: 'button', class: `thumb-button${k === this.selected ? ' current' : ''}`, 'data-photo-id': p.id, title: `${p.originalName} (photo ${p.id})`, onclick: () => this.select(k) },
              api.img(api.thumbnailUrl(p.id, 128), { class: 'thumb', alt: p.originalName, loading: 'lazy' }));
          }))))));
    const side = h('aside', {}, this.viewer.element, h('h3', {}, 'Where it was seen'), this.map(), h('h3', {}, 'Decisions about it'), this.history(decisions));
    this.body.append(h('div', { class: 'columns' }, h('div', {}, h('h3', {}, 'Encounters, oldest first'), timeline), side));
    this.select(this.selected);
  }

  /** Positions of its encounters, numbered in time order, joined by a line. */
  private map(): Element {
    const points = this.data!.encounters.filter((e) => e.latitude !== null && e.longitude !== null);
    if (points.length === 0) return h('p', { class: 'muted' }, 'No encounter has a position.');
    const W = 320;
    const H = 200;
    const pad = 18;
    const lats = points.map((e) => e.latitude!);
    const lons = points.map((e) => e.longitude!);
    const [la0, la1, lo0, lo1] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
    const cos = Math.cos(((la0 + la1) / 2) * (Math.PI / 180));
    // Degrees of latitude (and of longitude times cos(latitude)) to pixels, the same both ways.
    const dx = Math.max((lo1 - lo0) * cos, 1e-3);
    const dy = Math.max(la1 - la0, 1e-3);
    const k = Math.min((W - 2 * pad) / dx, (H - 2 * pad) / dy);
    const sx = (lon: number): number => W / 2 + (lon - (lo0 + lo1) / 2) * cos * k;
    const sy = (lat: number): number => H / 2 - (lat - (la0 + la1) / 2) * k;
    const span = Math.max(dx, dy);
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('class', 'map');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `positions of ${points.length} encounters`);
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', points.map((e) => `${sx(e.longitude!)},${sy(e.latitude!)}`).join(' '));
    svg.append(line);
    points.forEach((e, i) => {
      const g = document.createElementNS(SVG, 'g');
      const c = document.createElementNS(SVG, 'circle');
      c.setAttribute('cx', String(sx(e.longitude!)));
      c.setAttribute('cy', String(sy(e.latitude!)));
      c.setAttribute('r', '6');
      const t = document.createElementNS(SVG, 'title');
      t.textContent = `${i + 1}. encounter ${e.id}, ${day(e.date)}, ${place(e.latitude, e.longitude)}`;
      const n = document.createElementNS(SVG, 'text');
      n.setAttribute('x', String(sx(e.longitude!) + 8));
      n.setAttribute('y', String(sy(e.latitude!) + 4));
      n.textContent = String(i + 1);
      g.append(c, t, n);
      svg.append(g);
    });
    const km = span * 111;
    const caption = points.length === 1 ? `one position: ${place(points[0]!.latitude, points[0]!.longitude)}` : `about ${km < 10 ? km.toFixed(1) : Math.round(km)} km across; numbered oldest first`;
    return h('figure', { class: 'map-figure' }, svg, h('figcaption', { class: 'muted' }, caption));
  }

  private history(decisions: Page<Decision> | null): Element {
    if (!decisions) return h('p', { class: 'muted' }, 'The decision log could not be read.');
    if (decisions.items.length === 0) return h('p', { class: 'muted' }, 'None.');
    return h('ul', { class: 'history' }, decisions.items.slice().reverse().map((d) => h('li', { class: d.undoneBy ? 'undone' : '' },
      `#${d.id} ${d.action}${d.encounterId ? ` encounter ${d.encounterId}` : ''} by ${d.user}, ${d.at.slice(0, 16).replace('T', ' ')}`,
      d.undoneBy ? h('span', { class: 'muted' }, ` (undone by #${d.undoneBy})`) : d.action === 'undo' ? null
        : h('button', { type: 'button', class: 'link', onclick: () => void this.app.undo(d.id, `decision ${d.id} (${d.action})`) }, 'undo'))));
  }

  private select(k: number, scroll = false): void {
    if (this.photos.length === 0) return this.viewer.show(null);
    this.selected = Math.min(Math.max(0, k), this.photos.length - 1);
    const p = this.photos[this.selected]!;
    this.body.querySelectorAll('.timeline .thumb-button').forEach((b) => b.classList.toggle('current', (b as HTMLElement).dataset.photoId === String(p.id)));
    if (scroll) this.body.querySelector('.timeline .thumb-button.current')?.scrollIntoView({ block: 'nearest' });
    this.viewer.show({ src: this.app.api.photoUrl(p.id), width: p.width, height: p.height, box: p.box, caption: `${p.originalName} (photo ${p.id}, encounter ${p.encounterId})` });
  }

  private async merge(): Promise<void> {
    const answer = await this.app.ask('Merge two individuals', `The first individual’s encounters all move to the second (undoable).`,
      [{ name: 'individual', label: 'Merge individual', value: this.id }, { name: 'into', label: 'into', placeholder: 'e.g. FP-000012' }], 'Merge');
    if (!answer) return;
    if (!answer.individual || !answer.into) return void this.app.message('A merge needs both individuals.', 'warn');
    const outcome = await this.app.decide({ action: 'merge', individualId: answer.individual, into: answer.into });
    if (outcome.ok && answer.individual === this.id) this.app.go(`#/individual/${encodeURIComponent(answer.into)}`);
    else if (outcome.ok || outcome.status === 409) await this.load();
  }

  private async moveOut(): Promise<void> {
    const p = this.photos[this.selected];
    if (!p) return;
    const answer = await this.app.ask('Move a photo out', `Photo ${p.id} (${p.originalName}) is not of ${this.id}? It leaves as an encounter of its own, back in the review queue.`, [], 'Move it out');
    if (!answer) return;
    const outcome = await this.app.decide({ action: 'move-photo', photoId: p.id });
    if (outcome.ok || outcome.status === 409) await this.load();
  }

  shortcuts(): Shortcut[] {
    return [
      { keys: ['j', 'ArrowRight', 'ArrowDown'], shown: 'j / → / ↓', label: 'next photo', run: () => this.select(this.selected + 1, true) },
      { keys: ['k', 'ArrowLeft', 'ArrowUp'], shown: 'k / ← / ↑', label: 'previous photo', run: () => this.select(this.selected - 1, true) },
      { keys: ['m'], label: 'merge this individual with another', run: () => void this.merge() },
      { keys: ['x'], label: 'move the selected photo out of this individual', run: () => void this.moveOut() },
      { keys: ['+', '='], shown: '+', label: 'zoom in', run: () => this.viewer.zoomBy(1.25) },
      { keys: ['-', '_'], shown: '-', label: 'zoom out', run: () => this.viewer.zoomBy(1 / 1.25) },
      { keys: ['0'], label: 'fit the photo', run: () => this.viewer.reset() },
      { keys: ['b'], label: "zoom onto the animal's box", run: () => this.viewer.zoomToBox() },
      { keys: ['Enter', 'o'], label: "open the selected photo's encounter", run: () => { const p = this.photos[this.selected]; if (p) this.app.go(`#/encounter/${p.encounterId}`); } },
    ];
  }
}
