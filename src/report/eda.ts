import type { EdaStats } from '../data/eda.js';
import type { Issue } from '../data/validate.js';
import type { Page } from './html.js';

const bar = (labels: string[], data: number[], label: string, horizontal = false): Record<string, unknown> => ({
  type: 'bar',
  data: { labels, datasets: [{ label, data, backgroundColor: '#3b7dd8' }] },
  options: { indexAxis: horizontal ? 'y' : 'x', plugins: { legend: { display: false } } },
});

const pct = (x: number, digits: number): string => `${(100 * x).toFixed(digits)}%`;

/** The EDA report: counts, species (raw and fixed), photos per individual, sizes, chance levels, problems. */
export function edaPage(s: EdaStats, issues: readonly Issue[] = []): Page {
  const species = Object.keys(s.species_counts);
  return {
    title: 'finprint EDA',
    subtitle: s.dir,
    sections: [
      {
        title: 'Overview',
        blocks: [
          { kind: 'stats', items: [['train images', s.images], ['test images', s.test_images], ['species', s.species], ['raw species labels', s.species_raw], ['individuals', s.individuals], ['singletons', s.images_per_individual.singletons], ['problems', s.issues.total]] },
        ],
      },
      {
        title: 'Species',
        blocks: [
          { kind: 'chart', title: 'Photos per species', config: bar(species, species.map((k) => s.species_counts[k]!), 'photos', true), height: 60 + 22 * species.length },
          { kind: 'chart', title: 'Individuals per species', config: bar(species, species.map((k) => s.individuals_per_species[k] ?? 0), 'individuals', true), height: 60 + 22 * species.length },
          s.species_fixes.length
            ? { kind: 'table', columns: ['raw label', 'normalised', 'rows'], rows: s.species_fixes.map((f) => [f.from, f.to, f.rows]) }
            : { kind: 'text', text: 'No species labels needed fixing.' },
        ],
      },
      {
        title: 'Photos per individual',
        blocks: [
          { kind: 'chart', title: 'Individuals by number of photos', config: bar(s.images_per_individual.histogram.map((h) => h.photos), s.images_per_individual.histogram.map((h) => h.individuals), 'individuals') },
          { kind: 'stats', items: [['mean', s.images_per_individual.mean.toFixed(2)], ['median', s.images_per_individual.median], ['max', s.images_per_individual.max]] },
        ],
      },
      {
        title: 'Image sizes',
        blocks: [
          { kind: 'chart', title: 'Long side (px)', config: bar(s.image_sizes.long_side.map((b) => b.bin), s.image_sizes.long_side.map((b) => b.images), 'images') },
          { kind: 'table', columns: ['', 'min', 'median', 'max'], rows: [['width', s.image_sizes.width.min, s.image_sizes.width.median, s.image_sizes.width.max], ['height', s.image_sizes.height.min, s.image_sizes.height.median, s.image_sizes.height.max]] },
          { kind: 'table', columns: ['most common sizes', 'images'], rows: s.image_sizes.common.map((c) => [c.size, c.images]) },
        ],
      },
      {
        title: 'Chance level',
        blocks: [
          { kind: 'text', text: 'Proportional chance criterion (PCC): the accuracy of guessing each class at its base rate. A model should beat 1.25 x PCC.' },
          { kind: 'table', columns: ['task', 'PCC', '1.25 x PCC'], rows: [['species', pct(s.pcc.species, 2), pct(s.pcc125.species, 2)], ['individual', pct(s.pcc.individual, 4), pct(s.pcc125.individual, 4)]] },
        ],
      },
      ...(s.issues.total
        ? [{
          title: 'Problems found',
          blocks: [
            { kind: 'table', columns: ['kind', 'count'], rows: Object.entries(s.issues.by_kind).map(([k, n]) => [k, n ?? 0]) },
            { kind: 'table', columns: ['file', 'line', 'kind', 'problem'], rows: issues.slice(0, 500).map((i) => [i.file, i.row ?? '', i.kind, i.message]) },
          ] as const,
        }]
        : []),
    ],
  };
}
