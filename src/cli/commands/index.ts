import type { Command } from 'commander';
import { register as bench } from './bench.js';
import { register as catalogue } from './catalogue.js';
import { register as crop } from './crop.js';
import { register as demo } from './demo.js';
import { register as detector } from './detector.js';
import { register as doctor } from './doctor.js';
import { register as eda } from './eda.js';
import { register as evaluate } from './evaluate.js';
import { register as exportCommand } from './export.js';
import { register as identify } from './identify.js';
import { register as models } from './models.js';
import { register as pack } from './pack.js';
import { register as predict } from './predict.js';
import { register as score } from './score.js';
import { register as serve } from './serve.js';
import { register as synth } from './synth.js';
import { register as tournament } from './tournament.js';
import { register as train } from './train.js';
import { register as weights } from './weights.js';

/** Each command lives in its own module under ./ and registers itself here. */
export function registerCommands(program: Command): void {
  demo(program);
  doctor(program);
  synth(program);
  eda(program);
  bench(program);
  models(program);
  weights(program);
  train(program);
  evaluate(program);
  predict(program);
  score(program);
  identify(program);
  tournament(program);
  detector(program);
  exportCommand(program);
  crop(program);
  catalogue(program);
  serve(program);
  pack(program);
}
