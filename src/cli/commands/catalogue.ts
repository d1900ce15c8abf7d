import type { Command } from 'commander';

// Modules are imported inside the actions, so `finprint --help` does not load libtorch.
export function register(program: Command): void {
  const catalogue = program.command('catalogue').description('A photo-ID catalogue that grows with each survey: known individuals, new encounters to review, decisions');

  catalogue
    .command('init')
    .argument('<dir>', 'new catalogue folder')
    .description("A catalogue whose known individuals are a run's training photos (or another labelled competition folder), embedded with the run's model. Interrupted, run it again: it carries on.")
    .requiredOption('--run <dir>', 'the run whose model embeds and matches photos')
    .option('--data <dir>', "labelled competition folder (train.csv, train_images/) to take the known individuals from (default: the run's training data)")
    .option('--detector <dir>', 'detector folder: new photos without a box are cropped by it')
    .option('--engine <engine>', 'inference engine: torch (libtorch) or onnx (ONNX Runtime); their embeddings are interchangeable', 'torch')
    .option('--quiet', 'no progress bar')
    .addHelpText('after', '\nExample:\n  finprint catalogue init catalogue --run runs/arcface')
    .action(async (dir: string, f: { run: string; data?: string; detector?: string; engine: string; quiet?: boolean }) => {
      const { checkOneOf } = await import('../../util/check.js');
      const { ENGINES } = await import('../../identify/model.js');
      const engine = checkOneOf('--engine', f.engine, ENGINES);
      const { initCatalogue } = await import('../../runs/catalogue_model.js');
      const s = await initCatalogue(dir, f.run, { ...(f.data ? { data: f.data } : {}), ...(f.detector ? { detector: f.detector } : {}), quiet: f.quiet ?? false, engine });
      for (const r of s.rejected) console.error(`catalogue init: ${r} (left out)`);
      console.log(`${dir}: ${s.added} photos added${s.already ? `, ${s.already} already there` : ''}, ${s.individuals} known individuals${s.rejected.length ? `, ${s.rejected.length} photos left out` : ''}`);
    });

  catalogue
    .command('import')
    .argument('<dir>', 'catalogue folder')
    .argument('<photos...>', 'photo files or folders of photos')
    .description('New encounters to review, one per photo: cropped (when the catalogue has a detector), embedded, ranked against the catalogue. A photo already in the catalogue is reported, not added twice.')
    .option('--metadata <encounters.csv>', 'columns photo (file name), date, latitude, longitude, observer, species; EXIF fills date and position where it has none')
    .option('--boxes <boxes.csv>', "the animal's box in the photos it names (image,x0,y0,x1,y1 in pixels); the others are found by the catalogue's detector or used whole")
    .option('--json', 'print one JSON object')
    .option('--engine <engine>', 'inference engine: torch (libtorch) or onnx (ONNX Runtime); their embeddings are interchangeable', 'torch')
    .option('--quiet', 'no progress bar, and only the summary line (photos not imported are still named)')
    .addHelpText('after', '\nExample:\n  finprint catalogue import catalogue survey-2024/ --metadata survey-2024/encounters.csv --boxes survey-2024/boxes.csv')
    .action(async (dir: string, inputs: string[], f: { metadata?: string; boxes?: string; json?: boolean; engine: string; quiet?: boolean }) => {
      const { checkOneOf } = await import('../../util/check.js');
      const { ENGINES } = await import('../../identify/model.js');
      const engine = checkOneOf('--engine', f.engine, ENGINES);
      const { importPhotos } = await import('../../runs/catalogue_import.js');
      const r = await importPhotos(dir, inputs, { ...(f.metadata ? { metadata: f.metadata } : {}), ...(f.boxes ? { boxes: f.boxes } : {}), quiet: f.quiet ?? false, engine });
      if (f.json) {
        console.log(JSON.stringify(r));
        return;
      }
      for (const p of r.photos) {
        if (f.quiet && p.status !== 'rejected') continue;
        if (p.status === 'added') console.log(`${p.name}: encounter ${p.encounter}${p.best ? `, best candidate ${p.best.individual} (score ${p.best.score.toFixed(3)}${p.best.probability === null ? '' : `, P(same) ${(p.best.probability * 100).toFixed(0)}%`})` : ''}${p.suggestion ? `, ${p.suggestion}` : ''}`);
        else if (p.status === 'duplicate') console.log(`${p.name}: already in the catalogue${p.photo === null ? ' (twice in this import)' : ` (photo ${p.photo}, encounter ${p.encounter})`}`);
        else console.error(`${p.name}: ${p.reason} (not imported)`);
      }
      console.log(`${r.added} new encounters to review, ${r.duplicates} already in the catalogue, ${r.rejected} not imported`);
    });

  catalogue
    .command('sync')
    .argument('<dir>', 'catalogue folder')
    .argument('<file>', 'sync file exported by the offline page (JSON, format 1)')
    .description("Field decisions made offline with a field pack: each photo becomes an encounter to review, carrying the field decision as a proposal. A file of another model version is refused; a photo already in the catalogue and a match to an individual merged since are reported; syncing the same file again adds nothing.")
    .option('--json', 'print one JSON object')
    .option('--engine <engine>', 'inference engine: torch (libtorch) or onnx (ONNX Runtime); their embeddings are interchangeable', 'torch')
    .addHelpText('after', '\nExample:\n  finprint catalogue sync catalogue field-2024-07-01.json')
    .action(async (dir: string, file: string, f: { json?: boolean; engine: string }) => {
      const { checkOneOf } = await import('../../util/check.js');
      const { ENGINES } = await import('../../identify/model.js');
      const engine = checkOneOf('--engine', f.engine, ENGINES);
      const { runCatalogueSync, describeSync } = await import('../../runs/catalogue_sync.js');
      const s = await runCatalogueSync(dir, file, { engine });
      if (f.json) console.log(JSON.stringify(s));
      else console.log(describeSync(s));
      if (s.counts.rejected) process.exitCode = 1;
    });

  catalogue
    .command('export')
    .argument('<dir>', 'catalogue folder')
    .description('A train.csv-compatible folder to retrain with finprint train (kaggle), or every photo as one CSV (csv); the decision log with both')
    .requiredOption('--out <dir>', 'new folder to write')
    .option('--format <format>', 'kaggle | csv', 'kaggle')
    .option('--force', 'write into --out even if it exists')
    .addHelpText('after', '\nExample:\n  finprint catalogue export catalogue --format kaggle --out retrain-data')
    .action(async (dir: string, f: { out: string; format: string; force?: boolean }) => {
      const { existsSync } = await import('node:fs');
      const { resolve } = await import('node:path');
      const { Catalogue } = await import('../../catalogue/catalogue.js');
      const { exportCatalogue, EXPORT_FORMATS } = await import('../../catalogue/export.js');
      const { checkOneOf } = await import('../../util/check.js');
      const format = checkOneOf('--format', f.format, EXPORT_FORMATS);
      if (resolve(f.out) === resolve(dir) || resolve(f.out).startsWith(`${resolve(dir)}/`)) throw new Error(`--out ${f.out} is inside the catalogue ${dir}; write the export elsewhere`);
      if (existsSync(f.out) && !f.force) throw new Error(`--out ${f.out} already exists; pass --force to write into it, or choose another folder`);
      const c = await Catalogue.open(dir);
      try {
        const s = await exportCatalogue(c, f.out, format);
        console.log(`${f.out}: ${s.photos} photos of ${s.individuals} individuals, ${s.decisions} decisions\n${s.files.map((x) => `  ${x}`).join('\n')}`);
      } finally {
        await c.close();
      }
    });

  catalogue
    .command('check')
    .argument('<dir>', 'catalogue folder')
    .description("Integrity: every photo's file present with its hash, every photo embedded with the catalogue's model, no rows pointing at nothing; says what to do")
    .option('--fix', "embed the photos that lack an embedding for the catalogue's model")
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  finprint catalogue check catalogue')
    .action(async (dir: string, f: { fix?: boolean; json?: boolean }) => {
      const { Catalogue } = await import('../../catalogue/catalogue.js');
      const { checkCatalogue, embedMissing } = await import('../../catalogue/check.js');
      const c = await Catalogue.open(dir);
      try {
        if (f.fix) {
          const { runEmbedder } = await import('../../runs/catalogue_model.js');
          const fixed = await embedMissing(c, await runEmbedder(c.setup));
          for (const u of fixed.unreadable) console.error(`catalogue check: ${u}`);
          if (fixed.embedded) console.error(`catalogue check: embedded ${fixed.embedded} photos`);
        }
        const problems = await checkCatalogue(c);
        const stats = await c.store.stats();
        if (f.json) console.log(JSON.stringify({ ok: problems.length === 0, stats, problems }));
        else {
          for (const p of problems) console.log(`${p.kind}: ${p.message}`);
          console.log(problems.length ? `${problems.length} problem(s) in ${dir}` : `${dir}: ${stats.photos} photos, ${stats.individuals} individuals, all files present and embedded`);
        }
        if (problems.length) process.exitCode = 1;
      } finally {
        await c.close();
      }
    });

  const user = catalogue.command('user').description("Reviewers: who may decide when the review server listens beyond this machine");
  user
    .command('add')
    .argument('<dir>', 'catalogue folder')
    .argument('<name>', "the reviewer's name, recorded with each decision")
    .description('Adds a reviewer and prints their token (shown once; only its hash is stored)')
    .action(async (dir: string, name: string) => {
      const { Catalogue } = await import('../../catalogue/catalogue.js');
      const { newToken } = await import('../../catalogue/tokens.js');
      if (!/^[\w .@-]{1,64}$/.test(name)) throw new Error(`reviewer name ${JSON.stringify(name)}: use 1 to 64 letters, digits, spaces, . @ _ -`);
      const c = await Catalogue.open(dir);
      try {
        const { token, hash } = newToken();
        await c.store.addUser(name, hash);
        console.log(token);
        console.error(`reviewer ${name} added; give them this token (it is not stored and cannot be shown again)`);
      } finally {
        await c.close();
      }
    });
}
