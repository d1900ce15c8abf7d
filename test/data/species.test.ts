import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSpeciesMapping, normaliseSpecies, SPECIES, SPECIES_FIXES, unknownSpecies } from '../../src/data/species.js';
import { LOOKS } from '../../src/data/synth/looks.js';
import { tempDir } from './helpers.js';

const rows = ['bottlenose_dolpin', 'bottlenose_dolphin', 'kiler_whale', 'kiler_whale', 'globis', 'pilot_whale', 'beluga'].map((species, i) => ({ species, image: `${i}.jpg` }));

describe('species normalisation', () => {
  it('has 26 distinct normalised species, none of them a raw misspelling, each with a synthetic look', () => {
    assert.equal(new Set(SPECIES).size, 26);
    for (const from of Object.keys(SPECIES_FIXES)) assert.ok(!SPECIES.includes(from));
    for (const to of Object.values(SPECIES_FIXES)) assert.ok(SPECIES.includes(to));
    assert.deepEqual(Object.keys(LOOKS).sort(), [...SPECIES].sort());
  });

  it('fixes the four raw labels and reports which changed on how many rows', () => {
    const { rows: out, report } = normaliseSpecies(rows);
    assert.deepEqual(out.map((r) => r.species), ['bottlenose_dolphin', 'bottlenose_dolphin', 'killer_whale', 'killer_whale', 'short_finned_pilot_whale', 'short_finned_pilot_whale', 'beluga']);
    assert.deepEqual(out.map((r) => r.speciesRaw), rows.map((r) => r.species));
    assert.deepEqual(report.changes, [
      { from: 'bottlenose_dolpin', to: 'bottlenose_dolphin', rows: 1 },
      { from: 'globis', to: 'short_finned_pilot_whale', rows: 1 },
      { from: 'kiler_whale', to: 'killer_whale', rows: 2 },
      { from: 'pilot_whale', to: 'short_finned_pilot_whale', rows: 1 },
    ]);
    assert.equal(report.rowsChanged, 5);
    assert.equal(report.rawLabels, 6);
    assert.equal(report.labels, 4);
  });

  it('finds labels that are no known species, with their rows; a mapping target counts as declared', () => {
    const labelled = ['beluga', 'martian_whale', 'killer_whale', 'martian_whale', 'moon_dolphin', 'martian_whale'].map((species, i) => ({ species, line: i + 2 }));
    assert.deepEqual(unknownSpecies(labelled), [
      { label: 'martian_whale', rows: 3, lines: [3, 5, 7] },
      { label: 'moon_dolphin', rows: 1, lines: [6] },
    ]);
    assert.deepEqual(unknownSpecies(labelled, { ...SPECIES_FIXES, martian_whale: 'martian_whale' }).map((u) => u.label), ['moon_dolphin']);
    const many = Array.from({ length: 25 }, (_, i) => ({ species: 'martian_whale', line: i + 2 }));
    assert.deepEqual(unknownSpecies(many), [{ label: 'martian_whale', rows: 25, lines: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }]);
  });

  it('merges a user CSV mapping over the defaults; mapping a label to itself turns a fix off', async () => {
    const dir = await tempDir();
    const file = join(dir, 'map.csv');
    await writeFile(file, 'from,to\nglobis,long_finned_pilot_whale\nkiler_whale,kiler_whale\nbeluga,white_whale\n');
    const mapping = await loadSpeciesMapping(file);
    const { rows: out, report } = normaliseSpecies(rows, mapping);
    assert.deepEqual(out.map((r) => r.species), ['bottlenose_dolphin', 'bottlenose_dolphin', 'kiler_whale', 'kiler_whale', 'long_finned_pilot_whale', 'short_finned_pilot_whale', 'white_whale']);
    assert.equal(report.rowsChanged, 4);
  });

  it('reads a JSON object mapping and rejects malformed mapping files clearly', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'map.json'), JSON.stringify({ pilot_whale: 'long_finned_pilot_whale' }));
    const mapping = await loadSpeciesMapping(join(dir, 'map.json'));
    assert.equal(mapping['pilot_whale'], 'long_finned_pilot_whale');
    assert.equal(mapping['globis'], 'short_finned_pilot_whale');
    await writeFile(join(dir, 'bad.json'), '["a", "b"]');
    await assert.rejects(loadSpeciesMapping(join(dir, 'bad.json')), /Expected a JSON object/);
    await writeFile(join(dir, 'bad2.json'), '{"a": 3}');
    await assert.rejects(loadSpeciesMapping(join(dir, 'bad2.json')), /Expected a species name for "a"/);
    await writeFile(join(dir, 'bad.csv'), 'old,new\na,b\n');
    await assert.rejects(loadSpeciesMapping(join(dir, 'bad.csv')), /Expected columns from,to/);
  });
});
