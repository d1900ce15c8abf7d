import { writeFileAtomic } from '../../util/fs.js';
import { Callback, type Logs, type TrainingContext } from './callback.js';

/**
 * Writes one row per epoch to a CSV file. The whole history is rewritten atomically each epoch, so
 * a resumed run never holds duplicate or half-written rows.
 */
export class CSVLogger extends Callback {
  readonly name = 'CSVLogger';

  constructor(private readonly filename = 'history.csv', private readonly separator = ',') {
    super();
  }

  override async onEpochEnd(_epoch: number, _logs: Logs, ctx: TrainingContext): Promise<void> {
    const keys = [...new Set(ctx.history.flatMap((h) => Object.keys(h)))];
    const columns = ['epoch', ...keys.filter((k) => k !== 'epoch')];
    const rows = ctx.history.map((h) => columns.map((c) => (h[c] === undefined ? '' : String(h[c]))).join(this.separator));
    const path = this.filename.startsWith('/') ? this.filename : `${ctx.runDir}/${this.filename}`;
    await writeFileAtomic(path, [columns.join(this.separator), ...rows].join('\n') + '\n');
  }
}
