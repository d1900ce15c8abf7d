// The review page: a hash router over the queue, an encounter's review, an individual and the
// catalogue; the keyboard goes to the page's shortcuts, then the view's.
import { App } from './app.js';
import { CataloguePage } from './catalogue.js';
import { IndividualPage } from './individual.js';
import { QueueView } from './queue.js';
import { ReviewView } from './review.js';
import { dispatch } from './shortcuts.js';
import { load, PLACE_DEFAULTS, save, type Place } from './storage.js';

const container = document.getElementById('view')!;

function render(): void {
  app.view?.dispose();
  app.view = null;
  const hash = location.hash || '#/queue';
  const [, page, arg] = hash.split('/') as [string, string | undefined, string | undefined];
  const id = arg === undefined ? '' : decodeURIComponent(arg);
  if (page === 'encounter' && /^\d+$/.test(id)) app.view = new ReviewView(app, container, Number(id));
  else if (page === 'individual' && id) app.view = new IndividualPage(app, container, id);
  else if (page === 'catalogue') app.view = new CataloguePage(app, container);
  else app.view = new QueueView(app, container);
  document.title = `${app.view.title} · finprint`;
  document.querySelectorAll('header nav a').forEach((a) => a.classList.toggle('current', (a as HTMLAnchorElement).hash === `#/${page ?? 'queue'}` || (page === 'encounter' && (a as HTMLAnchorElement).hash === '#/queue')));
  save('place', { ...load<Place>('place', PLACE_DEFAULTS), route: hash });
  document.body.dataset.ready = 'true';
}

const app = new App(render);

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    if (app.helpOpen) return app.toggleHelp(false);
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA') && !app.dialogOpen) t.blur();
    return;
  }
  if (app.dialogOpen) return;
  if (app.helpOpen && e.key !== '?') {
    app.toggleHelp(false);
    return;
  }
  if (dispatch(app.globalShortcuts(), e)) return;
  if (app.view) dispatch(app.view.shortcuts(), e);
});

window.addEventListener('hashchange', render);

// Back where the reviewer was: the page they had open (the hash), else the one stored.
if (!location.hash) {
  const { route } = load<Place>('place', PLACE_DEFAULTS);
  if (route && route !== '#/queue') history.replaceState(null, '', route);
}
void app.refreshStats().then(render);
