// The review page in a real browser (Debian's chromium, driven by playwright-core) against a real
// review server (finprint serve) over a tiny catalogue: open the queue, open an encounter, confirm
// its first candidate with the keyboard; the database has the decision (user 'local'), the next
// match already searches the confirmed photo; undo with the keyboard puts it back. Also: the place
// is kept across reloads, the filters are the API's, a 409 reloads the encounter, a 401 says what to do.
//
// FINPRINT_SCREENSHOT=docs/review-page.png also writes the review view's screenshot there (for the README).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SqliteStore } from '../../src/catalogue/sqlite_store.js';
import { synthesize } from '../../src/data/synth/index.js';
import { tempDir } from '../data/helpers.js';
import { buildPages, finprintIn, launchChromium, root, skip, startServe } from './browser.js';


let work = '';
let catalogueDir = '';
let server: ChildProcess | undefined;
const finprint = (args: string[]): string => finprintIn(work, args);
let url = '';
let browser: Browser | undefined;

async function api<T>(path: string): Promise<T> {
  const res = await fetch(new URL(`api${path}`, url));
  assert.equal(res.status, 200, `GET /api${path}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

/** Polls until `check` returns a value (not undefined), or fails with `what`. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The catalogue's database as it is now (opened read-only beside the server). */
async function inDatabase<T>(read: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = new SqliteStore(join(catalogueDir, 'catalogue.db'), { readonly: true });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

/** Leaves the field being typed in, so keys go to the page's shortcuts. */
async function blur(page: Page): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}

/** Waits for the review view of `encounter` (or any other than `not`) to have its candidates. */
async function reviewReady(page: Page, which: { encounter?: number; not?: number }): Promise<number> {
  const selector = which.encounter !== undefined ? `section.review[data-encounter-id="${which.encounter}"][data-state=ready]` : 'section.review[data-state=ready]';
  const handle = await page.waitForFunction(
    ({ selector, not }) => {
      const el = document.querySelector(selector) as HTMLElement | null;
      if (!el || el.dataset.encounterId === String(not)) return null;
      return Number(el.dataset.encounterId);
    },
    { selector, not: which.not ?? -1 },
    { timeout: 20_000 },
  );
  return (await handle.jsonValue()) as number;
}

before(async () => {
  if (skip) return;
  work = await tempDir('finprint-web-');
  const data = join(work, 'data');
  await synthesize({ out: data, species: 3, individuals: 16, meanImages: 5, size: 160, seed: 2, quiet: true });
  const run = join(work, 'run');
  finprint(['train', '--data', data, '--backbone', 'vgg16_tiny', '--image-size', '48', '--batch-size', '16', '--workers', '2', '--quiet', '--seed', '1', '--unfreeze-top', 'all', '--task', 'joint', '--epochs', '1', '--out', run]);
  catalogueDir = join(work, 'catalogue');
  finprint(['catalogue', 'init', catalogueDir, '--run', run, '--quiet']);
  // A survey of 6 photos, with when, where, who and which species (from the synthetic answers).
  const names = readdirSync(join(data, 'test_images')).sort().slice(0, 6);
  const species = new Map(readFileSync(join(data, 'test_solution.csv'), 'utf8').trim().split('\n').slice(1).map((l) => [l.split(',')[0]!, l.split(',')[1]!]));
  const metadata = join(work, 'encounters.csv');
  writeFileSync(metadata, ['photo,date,latitude,longitude,observer,species', ...names.map((n, i) => `${n},2024-07-0${i + 1},${(64.1 + i * 0.05).toFixed(2)},${(-21.9 - i * 0.04).toFixed(2)},survey team,${species.get(n)}`)].join('\n') + '\n');
  finprint(['catalogue', 'import', catalogueDir, ...names.map((f) => join(data, 'test_images', f)), '--metadata', metadata, '--quiet']);
  buildPages();
  ({ child: server, url } = await startServe(work, ['--catalogue', catalogueDir], /(http:\/\/127\.0\.0\.1:\d+\/)/));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('review page: confirm the first candidate with the keyboard, the next match sees it, undo puts it back', { skip }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // The queue, sorted by the best candidate's probability; a progress count from /api/stats.
  const stats = await api<{ photos: number; encounters: { confirmed: number; unreviewed: number } }>('/stats');
  assert.equal(stats.encounters.unreviewed, 6);
  const gallery = stats.photos - 6;
  await page.goto(url);
  await page.waitForSelector('.queue-table tbody tr');
  assert.equal(await page.textContent('#progress'), `${stats.encounters.confirmed} of ${stats.encounters.confirmed + 6} encounters reviewed · 6 to go`);
  const first = Number(await page.getAttribute('.queue-table tbody tr.selected', 'data-encounter-id'));
  const queue = await api<{ items: { id: number; bestProbability: number | null }[] }>('/queue?sort=probability');
  assert.equal(first, queue.items[0]!.id, 'the queue starts with the most probable match');

  // Open it with the keyboard: the new photo, the candidates, what was searched.
  await page.keyboard.press('Enter');
  await reviewReady(page, { encounter: first });
  assert.match((await page.textContent('.searched'))!, new RegExp(`Searched: ${gallery} of ${gallery} photos`));
  assert.equal(await page.locator('li.candidate').count(), 10, 'top 10 by default');
  const { photos: [queryPhoto] } = await api<{ photos: { id: number }[] }>(`/encounters/${first}`);
  assert.ok(queryPhoto);
  assert.match((await page.getAttribute('.viewer.query img', 'src'))!, new RegExp(`api/photos/${queryPhoto.id}$`));
  const individual = (await page.getAttribute('li.candidate[data-rank="1"]', 'data-individual-id'))!;
  assert.ok(individual);
  await page.keyboard.press('+');
  assert.notEqual(await page.getAttribute('.viewer.query', 'data-zoom'), '1.00', '+ zooms');
  await page.keyboard.press('0');
  await page.waitForTimeout(300); // thumbnails in
  const shot = join(work, 'review-page.png');
  await page.screenshot({ path: shot });
  if (process.env.FINPRINT_SCREENSHOT) {
    const readme = resolve(root, process.env.FINPRINT_SCREENSHOT);
    mkdirSync(dirname(readme), { recursive: true });
    writeFileSync(readme, await page.screenshot());
  }
  assert.ok(statSync(shot).size > 10_000, 'a screenshot of the review view');

  // 1: confirm as the first candidate. The page moves on to the next encounter.
  await page.keyboard.press('1');
  const next = await reviewReady(page, { not: first });
  const decision = await inDatabase(async (store) => {
    const e = await store.encounter(first);
    assert.equal(e?.status, 'confirmed');
    assert.equal(e?.individualId, individual);
    const d = await store.decisions({ encounterId: first });
    assert.equal(d.total, 1);
    assert.equal(d.items[0]!.action, 'confirm');
    assert.equal(d.items[0]!.user, 'local', 'a decision without a token on loopback is recorded as local');
    assert.equal(d.items[0]!.undoneBy, null);
    return d.items[0]!;
  });
  const ind = await api<{ encounters: { id: number; photos: { id: number }[] }[] }>(`/individuals/${encodeURIComponent(individual)}`);
  assert.ok(ind.encounters.some((e) => e.id === first && e.photos.some((p) => p.id === queryPhoto.id)), 'the individual lists the confirmed encounter and its photo');

  // The very next match: ranked per photo (p), top 100, the confirmed photo is in the gallery as the individual's.
  const top = page.locator('form.search input[name=top]');
  await top.fill('100');
  await top.press('Enter');
  await page.waitForSelector('section.review[data-state=ready]');
  await blur(page);
  await page.keyboard.press('p');
  await page.waitForSelector(`section.review[data-per=photo][data-state=ready]`);
  assert.match((await page.textContent('.searched'))!, new RegExp(`Searched: ${gallery + 1} of ${gallery + 1} photos`), 'the confirmed photo is searched');
  assert.equal(await page.locator(`li.candidate[data-best-photo="${queryPhoto.id}"][data-individual-id="${individual}"]`).count(), 1, 'the confirmed photo is a candidate, as its individual');

  // The filters are the API's: a species restricts what is searched, and the page says so.
  const species = (await api<{ individual: { species: string } }>(`/individuals/${encodeURIComponent(individual)}`)).individual.species;
  await page.locator('form.search input[name=species]').fill(species);
  await page.locator('form.search input[name=species]').press('Enter');
  await page.waitForFunction((s) => document.querySelector('.searched')?.textContent?.includes(`species ${s}`), species);
  const searched = Number(await page.getAttribute('.searched', 'data-searched'));
  assert.ok(searched > 0 && searched < gallery + 1, `searched ${searched} of ${gallery + 1} photos: species ${species}`);
  await page.locator('form.search button', { hasText: 'Clear filters' }).click();
  await page.waitForFunction((n) => document.querySelector('.searched')?.textContent?.startsWith(`Searched: ${n} of ${n} photos`), gallery + 1);

  // z: undo the confirmation; the page goes back to that encounter, unreviewed again.
  await blur(page);
  await page.keyboard.press('z');
  await reviewReady(page, { encounter: first });
  await inDatabase(async (store) => {
    const e = await store.encounter(first);
    assert.equal(e?.status, 'unreviewed');
    assert.equal(e?.individualId, null);
    const d = await store.decisions({ encounterId: first });
    const undone = d.items.find((x) => x.id === decision.id)!;
    assert.ok(undone.undoneBy !== null, 'the confirmation is marked undone');
    const undo = d.items.find((x) => x.id === undone.undoneBy)!;
    assert.equal(undo.action, 'undo');
    assert.equal(undo.user, 'local');
  });
  assert.notEqual(next, first);

  // The reviewer's place is kept across reloads (localStorage): opening / comes back here.
  await page.goto(url);
  await reviewReady(page, { encounter: first });
  assert.equal(await page.inputValue('form.search input[name=top]'), '100', 'the search settings too');

  // 409: someone decides first; the page says so and shows the encounter as it is now.
  const version = Number(await page.getAttribute('section.review', 'data-version'));
  const status = await page.evaluate(async (body) => (await fetch('api/decisions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).status, { action: 'skip', encounterId: first, version });
  assert.equal(status, 201);
  await page.keyboard.press('u');
  await page.waitForSelector('section.review[data-status=skipped]');
  assert.match((await page.textContent('#message'))!, /Not done: .*changed since version/);
  assert.match((await page.textContent('.banner'))!, /Another decision was made on this encounter first: encounter \d+ is now skipped/);
  assert.equal((await inDatabase((s) => s.encounter(first)))?.status, 'skipped', 'the stale decision was not applied');

  // 401: the page says how to give a token.
  await page.route('**/api/decisions', (route) =>
    route.request().method() === 'POST' ? route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: 'this server is reachable from other machines, so every API call needs a reviewer token' }) }) : route.fallback());
  await page.keyboard.press('s');
  await until('the 401 message', async () => ((await page.textContent('#message')) ?? '').includes('Token field') || undefined);
  assert.match((await page.textContent('#message'))!, /needs a reviewer token.*Paste yours into the Token field/);
  assert.equal(await page.isVisible('#token'), true, 'the token field is shown');
  await page.unroute('**/api/decisions');

  // ? lists the shortcuts.
  await blur(page);
  await page.keyboard.press('?');
  assert.match((await page.textContent('#help'))!, /confirm as candidate N[\s\S]*undo the last decision/);
  assert.deepEqual(errors, [], 'no errors in the page');
  await page.close();
});

test('review page: a field decision synced with the encounter is shown, and a accepts its match', { skip }, async () => {
  const { items } = await api<{ items: { id: number }[] }>('/queue?status=unreviewed&sort=id');
  const target = items[items.length - 1]!.id;
  const { items: [known] } = await api<{ items: { individualId: string }[] }>('/queue?status=confirmed&limit=1');
  const individual = known!.individualId;
  // As finprint catalogue sync leaves it: a match to an individual merged (into `individual`) since the pack was made.
  const store = new SqliteStore(join(catalogueDir, 'catalogue.db'));
  try {
    await store.putProposal({ entryId: '6f1c2b1e-0000-4000-8000-000000000001', encounterId: target, kind: 'match', individualId: individual, proposedIndividualId: 'FP-OLD', by: 'ana', at: '2024-07-01T10:05:00Z', source: 'field.json (pack 2024-06-30)', synced: '2024-07-02T08:00:00Z', outcome: 'merged' });
  } finally {
    await store.close();
  }
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}#/encounter/${target}`);
  await reviewReady(page, { encounter: target });
  const text = (await page.textContent('.proposal'))!;
  assert.match(text, new RegExp(`Field decision: match ${individual} \\(proposed as FP-OLD, since merged into ${individual}\\) by ana, 2024-07-01 10:05`));
  assert.equal(await page.getAttribute('.proposal a', 'href'), `#/individual/${encodeURIComponent(individual)}`);
  await blur(page);
  await page.keyboard.press('?');
  assert.match((await page.textContent('#help'))!, /accept the field decision/);
  await page.keyboard.press('?');
  await page.keyboard.press('a');
  await until('the confirmation', async () => ((await inDatabase((s) => s.encounter(target)))?.status === 'confirmed' ? true : undefined));
  assert.equal((await inDatabase((s) => s.encounter(target)))?.individualId, individual, 'confirmed as the proposed individual');
  assert.deepEqual(errors, [], 'no errors in the page');
  await page.close();
});
