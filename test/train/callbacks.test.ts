import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSVLogger, EarlyStopping, ModelCheckpoint, Monitor, ReduceLROnPlateau, TerminateOnNaN, type Logs, type Mode, type TrainingContext } from '../../src/train/callbacks/index.js';
import { resolveMode } from '../../src/train/callbacks/callback.js';

/** A context that records what callbacks ask for. */
function fakeContext(lr = 0.1): TrainingContext & { lrs: number[]; saved: string[]; checkpoints: number; history: Logs[] } {
  const history: Logs[] = [];
  const ctx = {
    runDir: mkdtempSync(join(tmpdir(), 'finprint-cb-')),
    history,
    stopTraining: false,
    stopReason: undefined as string | undefined,
    lrs: [lr, lr * 10],
    saved: [] as string[],
    checkpoints: 0,
    getLrs: () => ctx.lrs,
    scaleLr: (f: number) => void (ctx.lrs = ctx.lrs.map((v) => v * f)),
    restoreWeights: () => undefined,
    saveWeights: async (p: string) => void ctx.saved.push(p),
    requestResumeCheckpoint: () => void (ctx.checkpoints += 1),
    log: () => undefined,
    warn: () => undefined,
  };
  return ctx;
}

test('EarlyStopping stops after `patience` epochs without improvement beyond min_delta', async () => {
  const ctx = fakeContext();
  const es = new EarlyStopping({ monitor: 'val_loss', patience: 2, minDelta: 0.01 });
  const losses = [1.0, 0.8, 0.795, 0.79, 0.7];
  let stoppedAt = -1;
  for (const [epoch, v] of losses.entries()) {
    await es.onEpochEnd(epoch, { val_loss: v }, ctx);
    if (ctx.stopTraining) {
      stoppedAt = epoch;
      break;
    }
  }
  assert.equal(stoppedAt, 3, 'epochs 2 and 3 improve by less than min_delta');
  assert.match(ctx.stopReason!, /val_loss did not improve for 2 epoch/);
});

test('EarlyStopping auto mode maximises accuracy-like metrics and its state round-trips', async () => {
  const ctx = fakeContext();
  const es = new EarlyStopping({ monitor: 'val_map5', patience: 1 });
  await es.onEpochEnd(0, { val_map5: 0.5 }, ctx);
  await es.onEpochEnd(1, { val_map5: 0.6 }, ctx);
  assert.equal(ctx.stopTraining, false);
  const copy = new EarlyStopping({ monitor: 'val_map5', patience: 1 });
  copy.loadStateDict(JSON.parse(JSON.stringify(es.stateDict())));
  await copy.onEpochEnd(2, { val_map5: 0.55 }, ctx);
  assert.equal(ctx.stopTraining, true, 'restored best 0.6 is not beaten by 0.55');
});

test('ReduceLROnPlateau scales every group after patience, respects cooldown and min_lr', () => {
  const ctx = fakeContext(0.1);
  const r = new ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.5, patience: 1, cooldown: 1, minLr: 0.03 });
  r.onEpochEnd(0, { val_loss: 1 }, ctx);
  r.onEpochEnd(1, { val_loss: 1 }, ctx); // wait 1 >= patience: reduce
  assert.deepEqual(ctx.lrs.map((v) => +v.toFixed(6)), [0.05, 0.5]);
  r.onEpochEnd(2, { val_loss: 1 }, ctx); // cooldown
  assert.equal(+ctx.lrs[0]!.toFixed(6), 0.05);
  r.onEpochEnd(3, { val_loss: 1 }, ctx); // reduce, clamped to min_lr
  assert.equal(+ctx.lrs[0]!.toFixed(6), 0.03);
  r.onEpochEnd(4, { val_loss: 1 }, ctx);
  r.onEpochEnd(5, { val_loss: 1 }, ctx);
  assert.equal(+ctx.lrs[0]!.toFixed(6), 0.03, 'never below min_lr');
});

test('ModelCheckpoint saves on improvement only and asks for resumable checkpoints', async () => {
  const ctx = fakeContext();
  const mc = new ModelCheckpoint({ monitor: 'val_accuracy', saveFreqBatches: 2 });
  for (let b = 0; b < 4; b++) await mc.onBatchEnd(0, b, { loss: 1 }, ctx);
  assert.equal(ctx.checkpoints, 2);
  await mc.onEpochEnd(0, { val_accuracy: 0.5 }, ctx);
  await mc.onEpochEnd(1, { val_accuracy: 0.4 }, ctx);
  await mc.onEpochEnd(2, { val_accuracy: 0.7 }, ctx);
  assert.equal(ctx.saved.length, 2);
  assert.equal(ctx.checkpoints, 5);
});

test('TerminateOnNaN stops and names the step', () => {
  const ctx = fakeContext();
  const t = new TerminateOnNaN();
  t.onBatchEnd(0, 3, { loss: 0.5, step: 4 }, ctx);
  assert.equal(ctx.stopTraining, false);
  t.onBatchEnd(1, 2, { loss: NaN, step: 12 }, ctx);
  assert.equal(ctx.stopTraining, true);
  assert.match(ctx.stopReason!, /loss became NaN at epoch 2, batch 3 \(step 12\)/);
});

test('CSVLogger writes the whole history, one row per epoch', async () => {
  const ctx = fakeContext();
  const log = new CSVLogger();
  ctx.history.push({ epoch: 1, loss: 2, val_loss: 3 }, { epoch: 2, loss: 1, val_loss: 2, lr: 0.1 });
  await log.onEpochEnd(1, ctx.history[1]!, ctx);
  assert.equal(readFileSync(join(ctx.runDir, 'history.csv'), 'utf8'), 'epoch,loss,val_loss,lr\n1,2,3,\n2,1,2,0.1\n');
});

test("mode 'auto' minimises loss-like metrics, maximises accuracy-like ones and refuses others", () => {
  for (const m of ['loss', 'val_loss', 'val_species_loss', 'id_loss', 'val_error', 'val_top5_error', 'mae', 'val_mse', 'val_mape']) assert.equal(resolveMode('auto', m), 'min', m);
  for (const m of ['accuracy', 'val_accuracy', 'val_species_accuracy', 'val_map5', 'val_auc', 'val_top5', 'val_f1', 'val_recall50', 'val_precision', 'val_iou', 'val_mAP']) assert.equal(resolveMode('auto', m), 'max', m);
  for (const m of ['val_pcc', 'lr', 'val_score']) {
    assert.throws(() => resolveMode('auto', m), new RegExp(`Expected a loss-like or accuracy-like metric name for mode 'auto' \\(for any other metric pass mode 'min' or 'max'\\) for monitor but received "${m}"`));
  }
  assert.throws(() => new EarlyStopping({ monitor: 'val_pcc' }), /for monitor but received "val_pcc"/);
  assert.throws(() => new ModelCheckpoint({ monitor: 'val_pcc' }), /pass mode 'min' or 'max'/);
  assert.throws(() => new ReduceLROnPlateau({ monitor: 'val_pcc', mode: 'auto' }), /pass mode 'min' or 'max'/);
  assert.throws(() => resolveMode('maximum' as Mode, 'val_loss'), /Expected one of min, max, auto for mode but received "maximum"/);
});

test('a metric auto mode cannot classify works with an explicit mode', async () => {
  assert.equal(resolveMode('max', 'val_pcc'), 'max');
  assert.equal(resolveMode('min', 'val_accuracy'), 'min', 'an explicit mode wins over the name');
  const ctx = fakeContext();
  const es = new EarlyStopping({ monitor: 'val_pcc', mode: 'max', patience: 1 });
  await es.onEpochEnd(0, { val_pcc: 0.5 }, ctx);
  await es.onEpochEnd(1, { val_pcc: 0.6 }, ctx);
  assert.equal(ctx.stopTraining, false, '0.6 beats 0.5 when maximising');
  await es.onEpochEnd(2, { val_pcc: 0.55 }, ctx);
  assert.equal(ctx.stopTraining, true);
  const low = new Monitor('val_score', 'min', 0);
  assert.equal(low.mode, 'min');
  assert.ok(low.improves(1) && !low.improves(Infinity));
});

test('callback arguments are checked with the parameter named', () => {
  assert.throws(() => new EarlyStopping({ patience: -1 }), /Expected integer >= 0 for EarlyStopping\.patience but received -1 of type number/);
  assert.throws(() => new ReduceLROnPlateau({ factor: 1 }), /Expected number between 0 and 1, both excluded for ReduceLROnPlateau\.factor but received 1 of type number/);
  assert.throws(() => new ModelCheckpoint({ saveFreqBatches: 1.5 }), /Expected integer >= 0 for ModelCheckpoint\.saveFreqBatches but received 1\.5/);
  assert.throws(() => new EarlyStopping({ minDelta: -0.1 }), /Expected number >= 0 for minDelta but received -0\.1/);
});
