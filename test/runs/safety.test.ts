// What finprint does to the files it writes and to run folders: outputs never replace inputs, a
// refused resume writes nothing, one process at a time trains into a folder, broken weights are
// refused, a run folder opens from anywhere, and an interrupted command leaves no temp files.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { synthesize } from '../../src/data/synth/index.js';
import { loadSafetensors, saveSafetensors } from '../../src/io/safetensors.js';
import * as torch from '../../src/torch/index.js';
import { writeFileAtomic } from '../../src/util/fs.js';
import { tempDir } from '../data/helpers.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));
let work = '';
let data = '';
let runDir = '';
const base = (): string[] => ['train', '--data', data, '--backbone', 'vgg16_tiny', '--image-size', '48', '--batch-size', '16', '--workers', '2', '--quiet', '--seed', '1', '--unfreeze-top', 'all'];

function run(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd, env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file of a folder with its bytes, to show nothing changed. */
function snapshot(dir: string): Map<string, string> {
  return new Map(readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => {
    const p = join(e.parentPath, e.name);
    return [p, readFileSync(p).toString('base64')];
  }));
}

const temps = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

before(async () => {
  work = await tempDir('finprint-safety-');
  data = join(work, 'data');
  await synthesize({ out: data, species: 3, individuals: 16, meanImages: 5, size: 64, seed: 2, quiet: true });
  runDir = join(work, 'run');
  const r = run([...base(), '--task', 'joint', '--epochs', '1', '--out', runDir]);
  assert.equal(r.status, 0, r.stderr);
});

test('1. outputs never replace inputs, and an existing output only with --force', () => {
  const trainCsv = join(data, 'train.csv');
  const csvBefore = readFileSync(trainCsv);
  const eda = run(['eda', data, '--report', trainCsv, '--quiet']);
  assert.equal(eda.status, 1);
  assert.match(eda.stderr, new RegExp(`--report ${trainCsv} is one of this command's inputs`));
  const predictCsv = run(['predict', '--run', runDir, '--out', trainCsv, '--quiet']);
  assert.equal(predictCsv.status, 1);
  assert.match(predictCsv.stderr, /--out .*train\.csv is one of this command's inputs/);
  assert.deepEqual(readFileSync(trainCsv), csvBefore, 'train.csv unchanged');

  const weights = join(runDir, 'best.safetensors');
  const weightsBefore = readFileSync(weights);
  const predictWeights = run(['predict', '--run', runDir, '--out', weights, '--quiet', '--force']);
  assert.equal(predictWeights.status, 1, 'not even with --force');
  assert.match(predictWeights.stderr, /--out .*best\.safetensors is one of this command's inputs/);
  assert.deepEqual(readFileSync(weights), weightsBefore, 'the model unchanged');

  const photo = join(data, 'test_images', readdirSync(join(data, 'test_images'))[0]!);
  const copy = join(work, 'photo.jpg');
  copyFileSync(photo, copy);
  const identify = run(['identify', '--run', runDir, copy, '--report', copy, '--quiet']);
  assert.equal(identify.status, 1);
  assert.match(identify.stderr, new RegExp(`--report ${copy} is one of this command's inputs`));
  assert.deepEqual(readFileSync(copy), readFileSync(photo), 'the photo unchanged');
  const inPhotos = run(['predict', '--run', runDir, '--out', join(data, 'test_images', 'answers.csv'), '--quiet']);
  assert.equal(inPhotos.status, 1);
  assert.match(inPhotos.stderr, /is inside the data folder's photos/);

  const out = join(work, 'submission.csv');
  writeFileSync(out, 'mine');
  const again = run(['predict', '--run', runDir, '--out', out, '--quiet']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, new RegExp(`--out ${out} already exists; pass --force`));
  assert.equal(readFileSync(out, 'utf8'), 'mine');
  const forced = run(['predict', '--run', runDir, '--out', out, '--quiet', '--force']);
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(readFileSync(out, 'utf8'), /^image,predictions/);
});

test('2. --resume with nothing to resume from refuses and leaves the folder as it was', () => {
  const copy = join(work, 'no-checkpoints');
  mkdirSync(copy);
  for (const f of ['config.json', 'run.json', 'best.safetensors', 'history.csv']) copyFileSync(join(runDir, f), join(copy, f));
  const before = snapshot(copy);
  const r = run([...base(), '--task', 'joint', '--epochs', '1', '--out', copy, '--resume']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nothing to resume from in .*no-checkpoints \(no last\.safetensors\)/);
  assert.deepEqual(snapshot(copy), before);
});

test('3. a refused resume rewrites nothing; more epochs are taken and said', () => {
  const before = snapshot(runDir);
  const backbone = run([...base().map((a) => (a === 'vgg16_tiny' ? 'levit_192_tiny' : a)), '--task', 'joint', '--epochs', '1', '--out', runDir, '--resume']);
  assert.equal(backbone.status, 1);
  assert.match(backbone.stderr, /was started with other settings \(backbone vgg16_tiny -> levit_192_tiny/);
  const size = run([...base().map((a) => (a === '48' ? '64' : a)), '--task', 'joint', '--epochs', '1', '--out', runDir, '--resume']);
  assert.equal(size.status, 1);
  assert.match(size.stderr, /imageSize 48 -> 64/);
  const task = run([...base(), '--task', 'species', '--epochs', '1', '--out', runDir, '--resume']);
  assert.match(task.stderr, /task joint -> species/);
  const otherData = join(work, 'other-data');
  mkdirSync(otherData);
  for (const f of readdirSync(data)) if (f.endsWith('.csv')) copyFileSync(join(data, f), join(otherData, f));
  writeFileSync(join(otherData, 'train.csv'), readFileSync(join(data, 'train.csv'), 'utf8').split('\n').slice(0, -3).join('\n') + '\n');
  for (const d of ['train_images', 'test_images']) spawnSync('cp', ['-r', join(data, d), join(otherData, d)]);
  const dataChanged = run([...base().map((a) => (a === data ? otherData : a)), '--task', 'joint', '--epochs', '1', '--out', runDir, '--resume']);
  assert.equal(dataChanged.status, 1);
  assert.match(dataChanged.stderr, /train\.csv is not the one .* was started on/);
  assert.deepEqual(snapshot(runDir), before, 'config.json, run.json and the weights unchanged');

  const longer = run([...base(), '--task', 'joint', '--epochs', '2', '--out', runDir, '--resume', '--json']);
  assert.equal(longer.status, 0, longer.stderr);
  assert.match(longer.stderr, /resume: epochs 1 -> 2/);
  assert.equal((JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { epochs: number }).epochs, 2);
  const shorter = run([...base(), '--task', 'joint', '--epochs', '1', '--out', runDir, '--resume']);
  assert.equal(shorter.status, 0, shorter.stderr);
  assert.match(shorter.stderr, /the run was given epochs 2; keeping that/);
  assert.equal((JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { epochs: number }).epochs, 2, 'config.json still says what the weights had');
});

test('3. a tournament re-run at another image size is refused, its entrants untouched', () => {
  const out = join(work, 'tournament');
  const args = ['tournament', '--data', data, '--backbones', 'vgg16_tiny', '--budget-epochs', '1', '--image-size', '48', '--limit', '40', '--quiet', '--out', out];
  assert.equal(run(args).status, 0);
  const before = snapshot(join(out, 'vgg16_tiny'));
  const r = run(args.map((a) => (a === '48' ? '64' : a)));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /imageSize 48 -> 64/);
  assert.deepEqual(snapshot(join(out, 'vgg16_tiny')), before);
  const twice = run(['tournament', '--data', data, '--backbones', 'vgg16_tiny,vgg16_tiny', '--budget-epochs', '1', '--out', join(work, 't2'), '--quiet']);
  assert.equal(twice.status, 1);
  assert.match(twice.stderr, /names vgg16_tiny more than once/);
});

test('6. two trainings into one folder: the second is refused while the first runs; a dead owner\'s lock is taken over', async () => {
  const out = join(work, 'locked');
  const env = { ...process.env, FINPRINT_CACHE: join(work, 'cache') };
  const first = spawn(process.execPath, [cli, ...base(), '--task', 'species', '--epochs', '3', '--out', out], { env, stdio: 'ignore' });
  const lock = join(out, 'run.lock');
  while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 20));
  const second = run([...base(), '--task', 'species', '--epochs', '3', '--out', out]);
  assert.equal(second.status, 1);
  assert.match(second.stderr, new RegExp(`is in use by finprint train \\(pid ${first.pid} on ${hostname()}`));
  assert.equal(await new Promise((r) => first.on('exit', r)), 0);
  assert.ok(!existsSync(lock), 'released at the end');

  // a lock left by a process that no longer runs
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(lock, JSON.stringify({ pid: Number(gone.stdout), host: hostname(), started: 'earlier', command: 'train' }));
  const resumed = run([...base(), '--task', 'species', '--epochs', '4', '--out', out, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`pid ${gone.stdout} \\(finprint train\\) ended without releasing`));
});

test('7. weights with integer dtypes or NaN are refused, naming the tensor', async () => {
  const sd = await loadSafetensors(join(runDir, 'best.safetensors'));
  const key = [...sd.keys()].find((k) => k.startsWith('backbone.') && k.endsWith('.weight'))!;
  const asInt = new Map(sd);
  asInt.set(key, sd.get(key)!.to('int64'));
  const intFile = join(work, 'int.safetensors');
  await saveSafetensors(intFile, asInt);
  const withNaN = new Map(sd);
  withNaN.set(key, torch.full(sd.get(key)!.shape, Number.NaN));
  const nanFile = join(work, 'nan.safetensors');
  await saveSafetensors(nanFile, withNaN);
  const bare = (file: string): Promise<void> => saveSafetensors(file, new Map([...(file === intFile ? asInt : withNaN)].filter(([k]) => k.startsWith('backbone.')).map(([k, t]) => [k.slice('backbone.'.length), t])));
  await bare(intFile);
  await bare(nanFile);
  const name = key.slice('backbone.'.length);
  const ints = run([...base(), '--task', 'species', '--epochs', '1', '--weights', intFile, '--out', join(work, 'from-ints')]);
  assert.equal(ints.status, 1);
  assert.match(ints.stderr, new RegExp(`${name.replace(/\./g, '\\.')} is int64 in the state dict but float32 in the model`));
  const nan = run([...base(), '--task', 'species', '--epochs', '1', '--weights', nanFile, '--out', join(work, 'from-nan')]);
  assert.equal(nan.status, 1);
  assert.match(nan.stderr, new RegExp(`${name.replace(/\./g, '\\.')} holds NaN or infinite values`));
  assert.ok(!existsSync(join(work, 'from-nan', 'best.safetensors')), 'no NaN model saved');
});

test('7. a run whose loss diverges exits non-zero and saves no NaN weights', () => {
  const out = join(work, 'diverged');
  const r = run([...base(), '--task', 'species', '--epochs', '2', '--lr', '1e30', '--out', out]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /TerminateOnNaN: loss became (NaN|Infinity|-Infinity) at epoch 1.*no weights were saved/s);
  assert.ok(!existsSync(join(out, 'best.safetensors')));
});

test('8. a run folder trained with relative paths opens from any working directory', () => {
  const cwd = join(work, 'elsewhere');
  mkdirSync(join(cwd, 'runs'), { recursive: true });
  spawnSync('cp', ['-r', data, join(cwd, 'base')]);
  const r = run([...base().map((a) => (a === data ? 'base' : a)), '--task', 'joint', '--epochs', '1', '--out', 'runs/rel'], cwd);
  assert.equal(r.status, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(cwd, 'runs', 'rel', 'config.json'), 'utf8')) as { data: string; out: string };
  assert.equal(config.data, join(cwd, 'base'));
  const evaluated = run(['evaluate', '--run', join(cwd, 'runs', 'rel'), '--quiet', '--json'], work);
  assert.equal(evaluated.status, 0, evaluated.stderr);
});

test('9. SIGTERM mid-training stops cleanly: no temp files, the lock released, how to resume said; leftovers of killed writers are removed', async () => {
  const out = join(work, 'interrupted');
  const env = { ...process.env, FINPRINT_CACHE: join(work, 'cache') };
  const args = [...base(), '--task', 'species', '--epochs', '6', '--checkpoint-every', '1', '--out', out];
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  while (!existsSync(join(out, 'last.safetensors'))) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 143);
  assert.match(stderr, /stopped by SIGTERM.*To carry on: finprint train .* --resume/);
  assert.deepEqual(temps(out), []);
  assert.ok(!existsSync(join(out, 'run.lock')));

  // a temp file a SIGKILLed writer left behind
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const leftover = join(out, `.last.safetensors.${gone.stdout}.deadbeef.tmp`);
  writeFileSync(leftover, 'half a checkpoint');
  const resumed = run([...args, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.ok(!existsSync(leftover), 'the dead writer\'s temp file removed');
});

test('9. bad counts and too few photos are refused before anything is written', () => {
  const tooFew = join(work, 'too-few');
  const one = run([...base(), '--task', 'species', '--epochs', '1', '--limit', '1', '--out', tooFew]);
  assert.equal(one.status, 1);
  assert.match(one.stderr, /--limit 1\) split into \d+ training and 0 validation photos/);
  assert.ok(!existsSync(join(tooFew, 'run.json')) && !existsSync(join(tooFew, 'config.json')));
  const joint = run([...base(), '--task', 'joint', '--epochs', '1', '--limit', '2', '--out', join(work, 'joint-2')]);
  assert.equal(joint.status, 1);
  assert.match(joint.stderr, /a run needs at least 2 and 1/);
  const reduce = run([...base(), '--task', 'species', '--epochs', '1', '--reduce-lr', '-1', '--out', join(work, 'neg')]);
  assert.equal(reduce.status, 1);
  assert.match(reduce.stderr, /--reduce-lr.*at least 0/);
  const top = run(['identify', '--run', runDir, join(data, 'test_images', readdirSync(join(data, 'test_images'))[0]!), '--species-top', '-1']);
  assert.equal(top.status, 1);
  assert.match(top.stderr, /--species-top.*at least 1/);
});

test('9. a failed write names the path asked for, never the temp file', async () => {
  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(writeFileAtomic(join(file, 'out.csv'), 'data'), (err: Error) => {
    assert.match(err.message, new RegExp(`^cannot write ${join(file, 'out.csv')}: `));
    assert.doesNotMatch(err.message, /\.tmp/);
    return true;
  });
});
