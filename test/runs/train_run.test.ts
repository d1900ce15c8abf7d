import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesize } from '../../src/data/synth/index.js';
import { readSafetensorsHeader } from '../../src/io/safetensors.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'finprint-train-'));
const data = join(work, 'data');
// Small and fast: a reduced VGG at 64 px on a few hundred synthetic photos.
const base = ['train', '--data', data, '--backbone', 'vgg16_tiny', '--image-size', '64', '--batch-size', '16', '--lr', '0.003', '--workers', '2', '--quiet', '--seed', '7'];

// Runs are compared bit for bit, which holds for a fixed thread count: shared-core mode would
// change it if other processes kept the cores busy.
const env = { ...process.env, FINPRINT_CACHE: join(work, 'cache'), FINPRINT_THREADS: `${availableParallelism()}` };

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** history.csv without the wall-time column, which is the only thing allowed to differ. */
function history(runDir: string): string[][] {
  const [header, ...rows] = readFileSync(join(runDir, 'history.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const keep = header!.map((h, i) => (h === 'seconds' ? -1 : i)).filter((i) => i >= 0);
  return [header!, ...rows].map((r) => keep.map((i) => r[i]!));
}

// A training photo cut in half: its header passes the folder check, its pixels do not decode.
let cutPhoto = '';
before(async () => {
  await synthesize({ out: data, species: 4, individuals: 40, meanImages: 6, size: 96, seed: 3, quiet: true });
  cutPhoto = readFileSync(join(data, 'train.csv'), 'utf8').split('\n')[1]!.split(',')[0]!;
  const photo = readFileSync(join(data, 'train_images', cutPhoto));
  writeFileSync(join(data, 'train_images', cutPhoto), photo.subarray(0, photo.length >> 1));
});

test('a short species run beats 1.25 x PCC and writes its run folder', () => {
  const out = join(work, 'species');
  const r = run([...base, '--task', 'species', '--epochs', '6', '--out', out, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.match(new RegExp(`data: cannot load .*${cutPhoto}.*\\(skipped\\)`, 'g'))?.length, 1, `the cut photo reported once:\n${r.stderr}`);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { val_accuracy: number };
  const eda = run(['eda', data, '--json']);
  const pcc125 = (JSON.parse(eda.stdout) as { pcc125: { species: number } }).pcc125.species;
  assert.ok(result.val_accuracy > pcc125, `val_accuracy ${result.val_accuracy} should beat 1.25 x PCC = ${pcc125}`);
  for (const f of ['config.json', 'run.json', 'history.csv', 'best.safetensors', 'last.safetensors', 'report.html', 'result.json']) assert.ok(existsSync(join(out, f)), `${f} written`);
  const report = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(report, /Species confusion matrix/);
  assert.match(report, new RegExp(`Left out of training \\(1\\)[^]*${cutPhoto}`), 'the cut photo listed in the report');
  assert.match(report, /new Chart|Chart\(/);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { backbone: string; epochs: number };
  assert.equal(config.backbone, 'vgg16_tiny');
  assert.equal(config.epochs, 6);
});

test('SIGKILL mid-epoch, then --resume (from a damaged newest checkpoint) finishes with the same metrics as an uninterrupted run', async () => {
  const args = [...base, '--task', 'species', '--epochs', '3', '--checkpoint-every', '2'];
  const whole = join(work, 'whole');
  assert.equal(run([...args, '--out', whole]).status, 0);

  const broken = join(work, 'broken');
  const child = spawn(process.execPath, [cli, ...args, '--out', broken], { env, stdio: 'ignore' });
  const last = join(broken, 'last.safetensors');
  // Kill once a checkpoint from the middle of epoch 2 exists.
  const killedAt = await new Promise<{ epoch: number; batch: number }>((resolve, reject) => {
    const poll = setInterval(() => {
      void (async () => {
        if (!existsSync(last)) return;
        try {
          const meta = JSON.parse((await readSafetensorsHeader(last)).metadata.finprint!) as { position: { epoch: number; batch: number } };
          if (meta.position.epoch >= 1 && meta.position.batch >= 2) {
            clearInterval(poll);
            child.kill('SIGKILL');
            resolve(meta.position);
          }
        } catch {
          // being replaced right now; look again
        }
      })();
    }, 20);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') {
        clearInterval(poll);
        reject(new Error(`training ended (code ${code}) before it could be killed mid-epoch`));
      }
    });
  });
  assert.ok(killedAt.batch > 0, 'killed in the middle of an epoch');
  // Damage the newest checkpoint: resume must notice and fall back to the previous one.
  const bytes = readFileSync(last);
  bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
  writeFileSync(last, bytes);

  const resumed = run([...args, '--out', broken, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /damaged.*resuming from the previous checkpoint/s);
  assert.deepEqual(history(broken), history(whole));
});

test('a second run into the same folder without --resume is refused', () => {
  const r = run([...base, '--task', 'species', '--epochs', '1', '--out', join(work, 'whole')]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /already holds a run; pass --resume/);
});

test('--weights takes the backbone of an earlier run folder, of the same backbone only', () => {
  const species = join(work, 'species');
  const r = run([...base, '--task', 'joint', '--epochs', '1', '--limit', '64', '--weights', species, '--out', join(work, 'from-species')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /weights: loaded \d+ tensors from .*species.best\.safetensors/);
  const other = run([...base.map((a) => (a === 'vgg16_tiny' ? 'levit_192_tiny' : a)), '--task', 'joint', '--epochs', '1', '--weights', species, '--out', join(work, 'wrong-backbone')]);
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /that run trained vgg16_tiny, not --backbone levit_192_tiny/);
});

test('a backbone from random weights with a frozen lower part is warned about', () => {
  const r = run([...base, '--task', 'species', '--epochs', '1', '--limit', '32', '--unfreeze-top', '1', '--out', join(work, 'frozen-random')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /starts from random weights \(no --weights\).*--unfreeze-top all/);
});

test('an identification run with P x K sampling and the triplet loss logs the triplet loss and records the settings', () => {
  const out = join(work, 'triplet');
  const r = run([...base, '--task', 'joint', '--epochs', '1', '--limit', '96', '--photos-per-individual', '4', '--triplet-weight', '1', '--triplet-margin', '0.2', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const [header, row] = history(out);
  const loss = Number(row![header!.indexOf('triplet_loss')]);
  assert.ok(Number.isFinite(loss) && loss > 0, `triplet_loss ${loss}: batches held several photos of an individual`);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { photosPerIndividual: number; triplet: { weight: number; margin: number } };
  assert.deepEqual([config.photosPerIndividual, config.triplet], [4, { weight: 1, margin: 0.2 }]);
});
