import type { Command } from 'commander';
import { addRunOptions, checkRunOutput, identifierOptions, resolveRun, type ModelFlags } from './run_options.js';
import { positiveIntArg } from './parse.js';

interface Ranked {
  id: string;
  /** Score (similarity) of the individual; null for new_individual. */
  similarity: number | null;
  /** Its best-matching gallery photo. */
  gallery_photo: string | null;
  /** That gallery entry is the photo's mirror image. */
  mirrored: boolean;
}

export function register(program: Command): void {
  addRunOptions(
    program
      .command('identify')
      .description('Which species and which known individual (or new_individual) each photo shows, with the best-matching gallery photos; with --blend, the gallery-only ranking beside it.')
      .argument('<photos...>', 'photo files')
      .option('--gallery <dir>', 'with --model: the data folder whose train.csv photos are the gallery (the same as --data)')
      .option('--species-top <n>', 'species shown per photo', positiveIntArg, 3)
      .option('--report <file>', 'also write an HTML page showing each photo beside the gallery photos it matched')
      .option('--force', 'replace --report if it exists')
      .option('--json', 'print one JSON object'),
    { zeroShot: true },
  )
    .addHelpText(
      'after',
      '\nExamples:\n  finprint identify --run runs/arcface photos/fin-0412.jpg photos/fin-0413.jpg --json\n  finprint identify --run runs/arcface photos/*.jpg --report matches.html\n  finprint identify --model miewid --gallery data photos/fin-0412.jpg   # zero-shot, after finprint weights pull miewid',
    )
    .action(async (photos: string[], flags: ModelFlags & { gallery?: string; speciesTop: number; report?: string; json?: boolean; force?: boolean }) => {
      if (flags.gallery !== undefined && flags.data !== undefined) throw new Error('--gallery and --data name the same folder: give one of them');
      const f = await resolveRun({ ...flags, data: flags.gallery ?? flags.data });
      if (f.report) await checkRunOutput(f, '--report', f.report, photos);
      const { Identifier } = await import('../../runs/identifier.js');
      const { NEW_INDIVIDUAL } = await import('../../data/happywhale.js');
      const ident = await Identifier.open(f.run, identifierOptions(f));
      const { threshold } = await ident.threshold();
      const m = await ident.matchFiles(photos);
      const predictions = Identifier.predictions(m, threshold);
      // Blended scores lean on the class centres; the gallery-only ranking beside them is what a
      // catalogue gives for individuals added after training.
      const alone = f.blend > 0 && !m.embedded.classTop ? { m: await ident.galleryOnly(m), threshold: await ident.galleryOnlyThreshold() } : undefined;
      const aloneIds = alone ? Identifier.predictions(alone.m, alone.threshold) : undefined;
      const gallery = await ident.searched();
      const half = gallery.mirrors ? gallery.ids.length / 2 : Infinity;
      // Unreadable photos were reported when matched; they are left out here.
      const unreadable = new Set(m.embedded.unreadable.map((u) => u.index));
      if (unreadable.size === m.photos.length) throw new Error(`none of the ${m.photos.length} photo(s) can be read`);
      // A model without a species head (zero-shot) has no species probabilities: the best match's species stands in.
      const matchedSpecies = ident.speciesHead ? undefined : ident.predictedSpecies(m);
      const results = m.photos.flatMap((p, i) => (unreadable.has(i) ? [] : [{ p, i }])).map(({ p, i }) => {
        const byId = new Map(m.candidates[i]!.map((c) => [c.id, c]));
        const individuals: Ranked[] = predictions[i]!.map((id) => {
          const c = id === NEW_INDIVIDUAL ? undefined : byId.get(id);
          return { id, similarity: c?.score ?? null, gallery_photo: c && c.galleryIndex >= 0 ? gallery.paths[c.galleryIndex]! : null, mirrored: c ? c.galleryIndex >= half : false };
        });
        const galleryOnly = aloneIds?.[i]!.map((id) => ({ id, similarity: alone!.m.candidates[i]!.find((c) => c.id === id)?.score ?? null }));
        return { photo: p.path, species: ident.speciesRanking(m, i).slice(0, f.speciesTop), ...(matchedSpecies ? { matched_species: matchedSpecies[i]! } : {}), individuals, ...(galleryOnly ? { gallery_only: galleryOnly } : {}) };
      });
      if (f.report) {
        const { writeMatchesReport } = await import('../../report/matches.js');
        await writeMatchesReport(f.report, ident.run.dir, threshold, results, ident.data.boxes);
      }
      if (f.json) {
        console.log(JSON.stringify({ run: ident.run.dir, threshold, ...(alone ? { blend: f.blend, gallery_only_threshold: alone.threshold } : {}), photos: results }));
        return;
      }
      for (const r of results) {
        console.log(`${r.photo}`);
        console.log(`  species: ${r.matched_species !== undefined ? `${r.matched_species} (the best match's; the model has no species head)` : r.species.map((s) => `${s.species} ${(s.probability * 100).toFixed(1)}%`).join(', ')}`);
        r.individuals.forEach((c, k) => {
          const where = c.gallery_photo ? `  (${c.gallery_photo}${c.mirrored ? ', mirrored' : ''})` : c.similarity === null ? `  (those below score under the threshold ${threshold.toFixed(3)})` : '';
          console.log(`  ${k + 1}. ${c.id.padEnd(20)} ${c.similarity === null ? '' : c.similarity.toFixed(4)}${where}`);
        });
        if (r.gallery_only) console.log(`  gallery only (threshold ${alone!.threshold.toFixed(3)}): ${r.gallery_only.map((c, k) => `${k + 1}. ${c.id}${c.similarity === null ? '' : ` ${c.similarity.toFixed(4)}`}`).join(', ')}`);
      }
      if (f.report) console.log(`matches shown in ${f.report}`);
    });
}
