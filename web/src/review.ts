// Reviewing one encounter: its photo (box outlined, zoom and pan) beside ranked candidate
// individuals (or photos), each with its score, P(same animal), its best-matching photo next to the
// query and a strip of its other photos; the search's filters are the API's, and the page says
// what was searched. Decisions go with the encounter's version; a 409 reloads the encounter.
import type { App, View } from './app.js';
import { describeCurrent } from './app.js';
import { ApiError } from './api.js';
import { append, clear, count, day, h, individualLabel, percent, place, score } from './dom.js';
import { probabilityBar, queueParams } from './queue.js';
import type { Shortcut } from './shortcuts.js';
import { load, PLACE_DEFAULTS, QUEUE_DEFAULTS, save, SEARCH_DEFAULTS, type Place, type QueuePrefs, type SearchPrefs } from './storage.js';
import type { Candidate, Candidates, Decision, DecisionRequest, EncounterView, Page, Photo, Proposal, QueuePage } from './types.js';
import { PhotoViewer } from './viewer.js';

export class ReviewView implements View {
  readonly title = 'Reviewing an encounter';
  private prefs: SearchPrefs = load('search', SEARCH_DEFAULTS);
  private data: EncounterView | null = null;
  private found: Candidates | null = null;
  private selected = 0;
  /** The query photo shown (its id), when the encounter has several. */
  private queryPhoto: number | null = null;
  /** A strip photo shown in place of the selected candidate's best photo. */
  private matchPhoto: number | null = null;
  private busy = false;
  private loadingCandidates = 0;
  private readonly root: HTMLElement;
  private readonly head: HTMLElement;
  /** The field decision synced with the encounter (finprint catalogue sync), when there is one. */
  private readonly proposal: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly searched: HTMLElement;
  private readonly list: HTMLElement;
  private readonly history: HTMLElement;
  private readonly photoStrip: HTMLElement;
  private readonly queryViewer = new PhotoViewer('New photo', 'query');
  private readonly matchViewer = new PhotoViewer('Candidate photo', 'match');
  private readonly form: HTMLFormElement;

  constructor(private readonly app: App, container: HTMLElement, private readonly id: number) {
    this.head = h('div', { class: 'review-head' });
    this.proposal = h('div', { class: 'proposal', hidden: true, 'aria-label': 'Field decision' });
    this.banner = h('div', { class: 'banner', hidden: true, role: 'status' });
    this.searched = h('p', { class: 'searched', role: 'status' });
    this.list = h('ol', { class: 'candidates', 'aria-label': 'Candidates' });
    this.history = h('div', { class: 'history' });
    this.photoStrip = h('div', { class: 'encounter-photos' });
    this.form = this.searchForm();
    const button = (label: string, key: string, run: () => void, cls = ''): HTMLElement =>
      h('button', { type: 'button', class: cls, onclick: run, title: `shortcut: ${key}` }, label, ' ', h('kbd', {}, key));
    const decide = h('div', { class: 'decide', role: 'toolbar', 'aria-label': 'Decisions' },
      button('Confirm selected', 'Enter', () => void this.confirm(this.selected), 'primary'),
      button('New individual', 'n', () => void this.newIndividual()),
      button('Unidentifiable', 'u', () => void this.simple('unidentifiable')),
      button('Skip', 's', () => void this.simple('skip')),
      button('Undo last', 'z', () => void this.app.undoLast(), 'secondary'),
      button('Shortcuts', '?', () => this.app.toggleHelp(), 'secondary'));
    this.root = h('section', { class: 'review', 'data-view': 'review', 'data-encounter-id': id },
      this.head,
      this.proposal,
      this.form,
      this.searched,
      this.banner,
      h('div', { class: 'compare' }, this.queryViewer.element, this.matchViewer.element),
      decide,
      h('div', { class: 'columns' },
        h('div', { class: 'candidates-column' }, this.list),
        h('aside', {}, h('h3', {}, 'Photos of this encounter'), this.photoStrip, h('h3', {}, 'Decisions on this encounter'), this.history)));
    container.append(this.root);
    save('place', { ...load<Place>('place', PLACE_DEFAULTS), route: `#/encounter/${id}` });
    void this.load();
  }

  dispose(): void {
    this.queryViewer.dispose();
    this.matchViewer.dispose();
    this.root.remove();
  }

  refresh(): void {
    void this.load();
  }

  // ---- the search form: every filter is an API parameter ----

  private searchForm(): HTMLFormElement {
    const p = this.prefs;
    const input = (name: keyof SearchPrefs, attrs: Record<string, string | number>): HTMLInputElement => h('input', { name, value: String(p[name]), ...attrs });
    const per = h('select', { name: 'per', title: 'p toggles' },
      h('option', { value: 'individual', selected: p.per === 'individual' }, 'per individual'),
      h('option', { value: 'photo', selected: p.per === 'photo' }, 'per photo'));
    const field = (label: string, el: HTMLElement, title = ''): HTMLElement => h('label', { title }, label, el);
    const form = h('form', { class: 'filters search', 'aria-label': 'Search filters' },
      field('Species', input('species', { list: 'species-list', placeholder: 'any', size: 14 }), 'only individuals seen as this species'),
      field('From', input('from', { type: 'date' })),
      field('To', input('to', { type: 'date' })),
      field('Within km', input('withinKm', { type: 'number', min: 0, step: 'any', placeholder: 'any', size: 6 }), "only encounters this close to the encounter's position (or to the lat/lon given)"),
      field('Lat', input('lat', { type: 'number', step: 'any', placeholder: 'encounter', size: 7 })),
      field('Lon', input('lon', { type: 'number', step: 'any', placeholder: 'encounter', size: 7 })),
      field('Top', input('top', { type: 'number', min: 1, max: 100, size: 4 }), 'how many candidates'),
      field('Rank', per),
      h('button', { type: 'submit' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', onclick: () => this.clearFilters() }, 'Clear filters'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      // Keys go back to the shortcuts once the search is made.
      (document.activeElement as HTMLElement | null)?.blur();
      this.readForm();
      void this.loadCandidates();
    });
    per.addEventListener('change', () => form.requestSubmit());
    return form;
  }

  private readForm(): void {
    const v = (name: string): string => ((this.form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? '').trim();
    const top = Math.round(Number(v('top')));
    this.prefs = {
      top: Number.isFinite(top) && top >= 1 ? Math.min(top, 100) : SEARCH_DEFAULTS.top,
      per: v('per') === 'photo' ? 'photo' : 'individual',
      species: v('species'),
      from: v('from'),
      to: v('to'),
      withinKm: v('withinKm'),
      lat: v('lat'),
      lon: v('lon'),
    };
    save('search', this.prefs);
  }

  private writeForm(): void {
    for (const [k, value] of Object.entries(this.prefs)) {
      const el = this.form.elements.namedItem(k) as HTMLInputElement | HTMLSelectElement | null;
      if (el) el.value = String(value);
    }
  }

  private clearFilters(): void {
    this.prefs = { ...SEARCH_DEFAULTS, top: this.prefs.top, per: this.prefs.per };
    save('search', this.prefs);
    this.writeForm();
    void this.loadCandidates();
  }

  // ---- loading ----

  private async load(): Promise<void> {
    try {
      const [data, decisions] = await Promise.all([
        this.app.api.get<EncounterView>(`/encounters/${this.id}`),
        this.app.api.get<Page<Decision>>('/decisions', { encounterId: this.id, limit: 500 }).catch(() => null),
      ]);
      this.data = data;
      this.app.noteSpecies(data.encounter.species);
      if (this.queryPhoto !== null && !data.photos.some((p) => p.id === this.queryPhoto)) this.queryPhoto = null;
      this.drawHead();
      this.drawProposal();
      this.drawPhotos();
      this.drawHistory(decisions);
      this.showStatus();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        clear(this.head);
        this.head.append(h('h2', {}, `Encounter ${this.id}`));
        this.setBanner(`There is no encounter ${this.id} (any more: an undo may have removed it). Back to the queue with q.`, 'warn');
        return;
      }
      this.app.fail(err, `load encounter ${this.id}`);
      return;
    }
    await this.loadCandidates();
  }

  private async loadCandidates(): Promise<void> {
    const ticket = ++this.loadingCandidates;
    const p = this.prefs;
    this.searched.textContent = 'Searching…';
    this.root.dataset.state = 'searching';
    try {
      const found = await this.app.api.get<Candidates>(`/encounters/${this.id}/candidates`, {
        top: p.top, per: p.per, species: p.species, from: p.from, to: p.to, withinKm: p.withinKm, lat: p.lat, lon: p.lon,
      });
      if (ticket !== this.loadingCandidates) return;
      this.found = found;
      this.selected = Math.min(this.selected, Math.max(0, found.candidates.length - 1));
      this.matchPhoto = null;
      this.app.noteSpecies(...found.candidates.map((c) => c.individual.species));
      this.drawCandidates();
      this.root.dataset.state = 'ready';
    } catch (err) {
      if (ticket !== this.loadingCandidates) return;
      this.found = null;
      clear(this.list);
      this.searched.textContent = '';
      this.root.dataset.state = 'error';
      if (err instanceof ApiError && err.status === 400) {
        this.searched.append(h('span', { class: 'error-text' }, `Cannot search: ${err.message}`));
        this.matchViewer.show(null);
      } else this.app.fail(err, 'find candidates');
    }
  }

  // ---- drawing ----

  private drawHead(): void {
    const { encounter: e, photos } = this.data!;
    const place0 = load<Place>('place', PLACE_DEFAULTS);
    const queue = load<QueuePrefs>('queue', QUEUE_DEFAULTS);
    clear(this.head);
    this.head.append(
      h('h2', {}, `Encounter ${e.id}`, ' ', h('span', { class: `status status-${e.status}` }, e.status), e.individualId ? [' as ', h('a', { href: `#/individual/${encodeURIComponent(e.individualId)}` }, e.individualId)] : null),
      h('dl', { class: 'meta' },
        h('dt', {}, 'Date'), h('dd', {}, day(e.date)),
        h('dt', {}, 'Position'), h('dd', {}, place(e.latitude, e.longitude)),
        h('dt', {}, 'Species'), h('dd', {}, e.species ?? 'unknown'),
        h('dt', {}, 'Observer'), h('dd', {}, e.observer ?? '—'),
        h('dt', {}, 'Photos'), h('dd', {}, String(photos.length)),
        h('dt', {}, 'Version'), h('dd', {}, String(e.version))),
      h('div', { class: 'queue-nav' },
        h('button', { type: 'button', class: 'secondary', onclick: () => void this.neighbour(-1), title: 'shortcut: [' }, '← Previous ', h('kbd', {}, '[')),
        h('span', { class: 'muted' }, `item ${place0.queueIndex + 1} of the ${queue.status} queue`),
        h('button', { type: 'button', class: 'secondary', onclick: () => void this.neighbour(1), title: 'shortcut: ]' }, 'Next ', h('kbd', {}, ']'), ' →')));
    this.root.dataset.version = String(e.version);
    this.root.dataset.status = e.status;
  }

  /** Who proposed what in the field, and when; a match links to its individual and is accepted with a. */
  private drawProposal(): void {
    const p: Proposal | null = this.data?.proposal ?? null;
    clear(this.proposal);
    this.proposal.hidden = !p;
    if (!p) {
      delete this.root.dataset.proposal;
      return;
    }
    this.root.dataset.proposal = p.kind;
    const link = (id: string): HTMLElement => h('a', { href: `#/individual/${encodeURIComponent(id)}` }, id);
    const what = p.kind === 'match' && p.individualId
      ? ['match ', link(p.individualId),
        p.proposedIndividualId && p.proposedIndividualId !== p.individualId
          ? h('span', { class: 'muted' }, ` (proposed as ${p.proposedIndividualId}, since merged into ${p.individualId})`) : null]
      : [p.kind === 'new' ? 'new individual' : p.kind === 'unsure' ? 'unsure' : p.kind];
    const when = p.at ? p.at.slice(0, 16).replace('T', ' ') : null;
    append(this.proposal, [
      h('strong', {}, 'Field decision: '),
      h('span', { class: 'proposal-kind', 'data-kind': p.kind }, what),
      p.by ? ` by ${p.by}` : ' (observer not recorded)',
      when ? `, ${when}` : '',
      h('span', { class: 'muted' }, ` · from ${p.source}, synced ${p.synced.slice(0, 10)}`),
      p.kind === 'match' && p.individualId
        ? [' ', h('button', { type: 'button', class: 'primary', title: `confirm encounter ${this.id} as ${p.individualId}, as proposed (shortcut: a)`, onclick: () => void this.acceptProposal() }, `Accept ${p.individualId} `, h('kbd', {}, 'a'))]
        : null]);
  }

  private showStatus(): void {
    const e = this.data!.encounter;
    if (e.status === 'unreviewed') this.setBanner('', 'info');
    else this.setBanner(`This encounter is already ${e.status}${e.individualId ? ` as ${e.individualId}` : ''}. A new decision replaces that one (or undo it from the list on the right).`, 'info');
  }

  private setBanner(text: string, kind: 'info' | 'warn' | 'suggest'): void {
    this.banner.textContent = text;
    this.banner.className = `banner ${kind}`;
    this.banner.hidden = !text;
  }

  private drawPhotos(): void {
    const { photos } = this.data!;
    clear(this.photoStrip);
    for (const p of photos) {
      this.photoStrip.append(h('button', { type: 'button', class: `thumb-button${p.id === this.shownQuery()?.id ? ' current' : ''}`, title: `${p.originalName} (photo ${p.id})`, onclick: () => { this.queryPhoto = p.id; this.showQuery(); this.drawPhotos(); } },
        this.app.api.img(this.app.api.thumbnailUrl(p.id, 128), { class: 'thumb', alt: p.originalName })));
    }
    this.showQuery();
  }

  private shownQuery(): Photo | undefined {
    const photos = this.data?.photos ?? [];
    const c = this.found?.candidates[this.selected];
    const id = this.queryPhoto ?? c?.queryPhoto;
    return photos.find((p) => p.id === id) ?? photos[0];
  }

  private showQuery(): void {
    const p = this.shownQuery();
    if (!p) return this.queryViewer.show(null);
    this.queryViewer.show({
      src: this.app.api.photoUrl(p.id), width: p.width, height: p.height, box: p.box,
      caption: `New photo: ${p.originalName} (photo ${p.id}${p.box ? `, box ${p.boxSource}` : ', whole photo'})`,
    });
  }

  private drawHistory(decisions: Page<Decision> | null): void {
    clear(this.history);
    if (!decisions) return void this.history.append(h('p', { class: 'muted' }, 'The decision log could not be read.'));
    if (decisions.items.length === 0) return void this.history.append(h('p', { class: 'muted' }, 'None yet.'));
    this.history.append(h('ul', {}, decisions.items.slice().reverse().map((d) => h('li', { class: d.undoneBy ? 'undone' : '' },
      h('span', {}, `#${d.id} ${d.action}${d.individualId ? ` ${d.individualId}` : ''} by ${d.user}, ${d.at.slice(0, 16).replace('T', ' ')}`),
      d.undoneBy ? h('span', { class: 'muted' }, ` (undone by #${d.undoneBy})`) : d.action === 'undo' ? null
        : h('button', { type: 'button', class: 'link', onclick: () => void this.app.undo(d.id, `decision ${d.id} (${d.action})`) }, 'undo')))));
  }

  private drawCandidates(): void {
    const found = this.found!;
    const api = this.app.api;
    clear(this.searched);
    this.searched.append(
      h('strong', {}, 'Searched: '), found.description,
      h('span', { class: 'muted' }, ` · ${count(found.candidates.length, found.per === 'photo' ? 'photo' : 'candidate')} shown, ranked per ${found.per}`));
    this.searched.dataset.searched = String(found.searched);
    this.root.dataset.per = found.per;
    const best = found.candidates[0];
    if (found.suggestion) {
      this.setBanner(`${found.suggestion[0]!.toUpperCase()}${found.suggestion.slice(1)}: ${best ? `the best candidate scores ${score(best.score)}` : 'no candidate in the search'}${found.threshold !== null ? `, under the run's new-individual threshold ${score(found.threshold)}` : ''}. Press n to make it a new individual.`, 'suggest');
      this.banner.dataset.suggestion = found.suggestion;
    } else if (this.banner.classList.contains('suggest')) this.showStatus();
    clear(this.list);
    if (found.candidates.length === 0) {
      this.list.append(h('li', { class: 'empty' }, found.searched === 0 ? 'No gallery photo passes these filters: widen them to search more.' : 'No candidates.'));
      this.matchViewer.show(null);
      return;
    }
    found.candidates.forEach((c, i) => {
      const strip = c.photos.map((id) => h('button', { type: 'button', class: 'thumb-button', title: `photo ${id}: show it beside the query`, onclick: (e: Event) => { e.stopPropagation(); this.select(i, id); } },
        api.img(api.thumbnailUrl(id, 128), { class: 'thumb small', alt: `photo ${id} of ${c.individual.id}`, loading: 'lazy' })));
      const card = h('li', { class: `candidate${i === this.selected ? ' selected' : ''}`, 'data-individual-id': c.individual.id, 'data-best-photo': c.bestPhoto, 'data-rank': i + 1, onclick: () => this.select(i) },
        h('div', { class: 'cand-head' },
          h('span', { class: 'rank' }, i < 9 ? h('kbd', {}, String(i + 1)) : String(i + 1)),
          h('a', { class: 'who', href: `#/individual/${encodeURIComponent(c.individual.id)}`, onclick: (e: Event) => e.stopPropagation() }, individualLabel(c.individual)),
          found.per === 'photo' ? h('span', { class: 'muted' }, `photo ${c.bestPhoto}`) : null,
          h('span', { class: 'species' }, c.individual.species ?? '')),
        h('div', { class: 'cand-figures' },
          h('span', { class: 'muted' }, 'P(same)'), probabilityBar(c.probability),
          h('span', { class: 'score', title: 'cosine similarity of the embeddings' }, `score ${score(c.score)}`)),
        h('div', { class: 'pair' },
          h('figure', {}, api.img(api.thumbnailUrl(c.queryPhoto), { class: 'thumb', alt: 'query photo' }), h('figcaption', {}, 'new photo')),
          h('figure', {}, api.img(api.thumbnailUrl(c.bestPhoto), { class: `thumb${c.mirrored ? ' mirrored' : ''}`, alt: `best photo of ${c.individual.id}` }), h('figcaption', {}, `best match, photo ${c.bestPhoto}${c.mirrored ? ' (mirrored)' : ''}`))),
        strip.length ? h('div', { class: 'strip', 'aria-label': `other photos of ${c.individual.id}` }, strip) : h('div', { class: 'strip muted' }, 'no other photos'),
        h('div', { class: 'cand-actions' },
          h('button', { type: 'button', class: 'primary', title: `confirm encounter ${this.id} as ${c.individual.id}`, onclick: (e: Event) => { e.stopPropagation(); void this.confirm(i); } }, 'Confirm', i < 9 ? [' ', h('kbd', {}, String(i + 1))] : null),
          h('button', { type: 'button', class: 'secondary', onclick: (e: Event) => { e.stopPropagation(); this.select(i); void this.merge(); } }, 'Merge… ', h('kbd', {}, 'm')),
          h('button', { type: 'button', class: 'secondary', onclick: (e: Event) => { e.stopPropagation(); this.select(i); void this.movePhoto(); } }, 'Move out… ', h('kbd', {}, 'x'))));
      this.list.append(card);
    });
    this.select(this.selected);
  }

  /** Selects candidate `i` (showing `photo` of it, else its best); `scroll` brings its card into view. */
  private select(i: number, photo: number | null = null, scroll = false): void {
    const list = this.found?.candidates ?? [];
    if (list.length === 0) return;
    this.selected = Math.min(Math.max(0, i), list.length - 1);
    this.matchPhoto = photo;
    const cards = this.list.querySelectorAll('li.candidate');
    cards.forEach((el, k) => el.classList.toggle('selected', k === this.selected));
    if (scroll) cards[this.selected]?.scrollIntoView({ block: 'nearest' });
    this.root.dataset.selected = String(this.selected + 1);
    const c = list[this.selected]!;
    const shown = photo ?? c.bestPhoto;
    this.matchViewer.show({
      src: this.app.api.photoUrl(shown),
      mirrored: shown === c.bestPhoto && c.mirrored,
      caption: `#${this.selected + 1} ${individualLabel(c.individual)}: ${shown === c.bestPhoto ? 'best-matching' : 'another'} photo (${shown})${shown === c.bestPhoto && c.mirrored ? ', mirrored' : ''} · score ${score(c.score)} · P(same) ${percent(c.probability)}`,
    });
    if (this.queryPhoto === null) this.showQuery();
    this.drawPhotosCurrent();
  }

  private drawPhotosCurrent(): void {
    const current = this.shownQuery()?.id;
    this.photoStrip.querySelectorAll('button').forEach((b, k) => b.classList.toggle('current', this.data?.photos[k]?.id === current));
  }

  // ---- decisions ----

  private version(): number | null {
    return this.data?.encounter.version ?? null;
  }

  /** Sends a decision on this encounter; on success moves on to the next in the queue. */
  private async decideHere(req: DecisionRequest): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.root.dataset.busy = 'true';
    try {
      const outcome = await this.app.decide(req);
      if (outcome.ok) {
        this.root.dataset.decided = String(outcome.response.decision.id);
        await this.next();
      } else if (outcome.status === 409) {
        const now = describeCurrent(outcome.current);
        await this.load();
        this.setBanner(`Another decision was made on this encounter first${now ? `: ${now}` : ''}. This is its current state; decide again if it is still wrong.`, 'warn');
      }
    } finally {
      this.busy = false;
      delete this.root.dataset.busy;
    }
  }

  private async confirm(i: number): Promise<void> {
    const c: Candidate | undefined = this.found?.candidates[i];
    const version = this.version();
    if (!c || version === null) return void this.app.message(i === 0 ? 'No candidate to confirm.' : `There is no candidate ${i + 1}.`, 'warn');
    this.select(i);
    await this.decideHere({ action: 'confirm', encounterId: this.id, version, individualId: c.individual.id });
  }

  /** Confirms the encounter as the individual the field decision proposed (a match only). */
  private async acceptProposal(): Promise<void> {
    const p = this.data?.proposal ?? null;
    const version = this.version();
    if (!p) return void this.app.message('This encounter has no field decision to accept.', 'warn');
    if (p.kind !== 'match' || !p.individualId) return void this.app.message(`The field decision is ${p.kind === 'new' ? 'a new individual' : 'unsure'}, not a match: decide with the candidates (n makes a new individual).`, 'warn');
    if (version === null) return;
    await this.decideHere({ action: 'confirm', encounterId: this.id, version, individualId: p.individualId });
  }

  private async newIndividual(): Promise<void> {
    const version = this.version();
    if (version === null) return;
    const answer = await this.app.ask('New individual', `Encounter ${this.id} becomes the first encounter of a new individual; its id is generated (FP-…). A name is optional.`, [{ name: 'name', label: 'Name (optional)', placeholder: 'e.g. Notch' }], 'Create');
    if (!answer) return;
    await this.decideHere({ action: 'new-individual', encounterId: this.id, version, ...(answer.name ? { name: answer.name } : {}) });
  }

  private async simple(action: 'unidentifiable' | 'skip'): Promise<void> {
    const version = this.version();
    if (version === null) return;
    await this.decideHere({ action, encounterId: this.id, version });
  }

  private async merge(): Promise<void> {
    const c = this.found?.candidates[this.selected];
    const ids = [...new Set((this.found?.candidates ?? []).map((x) => x.individual.id))];
    const answer = await this.app.ask('Merge two individuals', 'The first individual’s encounters all move to the second, and the first is kept only as merged (undoable).',
      [{ name: 'individual', label: 'Merge individual', value: c?.individual.id ?? '', options: ids }, { name: 'into', label: 'into', value: ids.find((x) => x !== c?.individual.id) ?? '', options: ids }], 'Merge');
    if (!answer) return;
    if (!answer.individual || !answer.into) return void this.app.message('A merge needs both individuals.', 'warn');
    const outcome = await this.app.decide({ action: 'merge', individualId: answer.individual, into: answer.into });
    if (outcome.ok || outcome.status === 409) await this.loadCandidates();
  }

  private async movePhoto(): Promise<void> {
    const c = this.found?.candidates[this.selected];
    if (!c) return;
    const photo = this.matchPhoto ?? c.bestPhoto;
    const answer = await this.app.ask('Move a photo out', `Photo ${photo} does not show ${c.individual.id}? It leaves the individual as an encounter of its own, back in the review queue.`, [], 'Move it out');
    if (!answer) return;
    const outcome = await this.app.decide({ action: 'move-photo', photoId: photo });
    if (outcome.ok || outcome.status === 409) await this.loadCandidates();
  }

  /** After a decision: the encounter now at this one's place in the queue (this one has left it). */
  private async next(): Promise<void> {
    const place0 = load<Place>('place', PLACE_DEFAULTS);
    const prefs = load<QueuePrefs>('queue', QUEUE_DEFAULTS);
    try {
      for (const offset of [place0.queueIndex, 0]) {
        const page = await this.app.api.get<QueuePage>('/queue', queueParams(prefs, Math.max(0, offset), 2));
        const item = page.items.find((x) => x.id !== this.id);
        if (item) {
          save('place', { ...place0, queueIndex: Math.max(0, offset) + page.items.indexOf(item) });
          this.app.go(`#/encounter/${item.id}`);
          return;
        }
      }
    } catch (err) {
      this.app.fail(err, 'find the next encounter');
      return;
    }
    this.app.go('#/queue');
  }

  /** The previous or next encounter in the queue, without deciding. */
  private async neighbour(delta: number): Promise<void> {
    const place0 = load<Place>('place', PLACE_DEFAULTS);
    const prefs = load<QueuePrefs>('queue', QUEUE_DEFAULTS);
    const offset = place0.queueIndex + delta;
    if (offset < 0) return void this.app.message('This is the first encounter of the queue.', 'info');
    try {
      const page = await this.app.api.get<QueuePage>('/queue', queueParams(prefs, offset, 1));
      const item = page.items[0];
      if (!item) return void this.app.message('This is the last encounter of the queue.', 'info');
      save('place', { ...place0, queueIndex: offset });
      this.app.go(`#/encounter/${item.id}`);
    } catch (err) {
      this.app.fail(err, 'move along the queue');
    }
  }

  private togglePer(): void {
    this.prefs = { ...this.prefs, per: this.prefs.per === 'photo' ? 'individual' : 'photo' };
    save('search', this.prefs);
    this.writeForm();
    this.app.message(`Ranking per ${this.prefs.per}.`, 'info');
    void this.loadCandidates();
  }

  private zoom(factor: number | 'fit' | 'box'): void {
    for (const v of [this.queryViewer, this.matchViewer]) {
      if (factor === 'fit') v.reset();
      else if (factor === 'box') v.zoomToBox();
      else v.zoomBy(factor);
    }
  }

  shortcuts(): Shortcut[] {
    const c = (): Candidate | undefined => this.found?.candidates[this.selected];
    return [
      { keys: ['1', '2', '3', '4', '5', '6', '7', '8', '9'], shown: '1 … 9', label: 'confirm as candidate N', run: (e) => void this.confirm(Number(e.key) - 1) },
      { keys: ['Enter'], label: 'confirm as the selected candidate', run: () => void this.confirm(this.selected) },
      { keys: ['a'], label: 'accept the field decision: confirm as the individual it proposes (when it is a match)', run: () => void this.acceptProposal() },
      { keys: ['n'], label: 'new individual (generated id, optional name)', run: () => void this.newIndividual() },
      { keys: ['u'], label: 'unidentifiable', run: () => void this.simple('unidentifiable') },
      { keys: ['s'], label: 'skip (decide later)', run: () => void this.simple('skip') },
      { keys: ['j', 'ArrowDown', 'ArrowRight'], shown: 'j / ↓ / →', label: 'next candidate', run: () => this.select(this.selected + 1, null, true) },
      { keys: ['k', 'ArrowUp', 'ArrowLeft'], shown: 'k / ↑ / ←', label: 'previous candidate', run: () => this.select(this.selected - 1, null, true) },
      { keys: ['p'], label: 'toggle ranking per individual / per photo', run: () => this.togglePer() },
      { keys: ['+', '='], shown: '+', label: 'zoom in', run: () => this.zoom(1.25) },
      { keys: ['-', '_'], shown: '-', label: 'zoom out', run: () => this.zoom(1 / 1.25) },
      { keys: ['0'], label: 'fit the photos (zoom out)', run: () => this.zoom('fit') },
      { keys: ['b'], label: "zoom onto the animal's box", run: () => this.zoom('box') },
      { keys: ['m'], label: 'merge two individuals (the selected candidate into another)', run: () => void this.merge() },
      { keys: ['x'], label: "move the candidate's shown photo out of its individual", run: () => void this.movePhoto() },
      { keys: ['i'], label: "open the selected candidate's individual page", run: () => { const x = c(); if (x) this.app.go(`#/individual/${encodeURIComponent(x.individual.id)}`); } },
      { keys: [']'], label: 'next encounter in the queue (no decision)', run: () => void this.neighbour(1) },
      { keys: ['['], label: 'previous encounter in the queue', run: () => void this.neighbour(-1) },
      { keys: ['f', '/'], shown: 'f or /', label: 'edit the search filters', run: () => (this.form.elements.namedItem('species') as HTMLInputElement).focus() },
    ];
  }
}
