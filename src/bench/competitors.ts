// Competing jobs for the shared-core benchmark: K PyTorch training processes (bench/competitor.py)
// with PyTorch's own defaults, started and ended by the bench. Each one stops when its stdin
// closes and after a time limit of its own, so none outlives a bench that crashed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { environmentWithoutFinprintPolicy } from '../torch/index.js';
import { benchScript, findTorchPython } from './pytorch_side.js';

export interface Competitors {
  /** The jobs' process ids. */
  pids: number[];
  /** Ends every job and waits until each has exited. */
  stop(): Promise<void>;
}

/** The longest a competing job runs if nobody ends it (seconds). */
const LIMIT_SECONDS = 1800;

/** Starts `count` jobs of `threads` intra-op threads and resolves once each has run its first step. */
export async function startCompetitors(count: number, threads: number): Promise<Competitors> {
  const python = findTorchPython();
  const children: ChildProcess[] = [];
  const exited = new Map<ChildProcess, Promise<void>>();
  const stop = async (): Promise<void> => {
    for (const c of children) {
      c.stdin?.end();
      c.kill();
    }
    await Promise.all(exited.values());
  };
  try {
    await Promise.all(
      Array.from({ length: count }, () => {
        const child = spawn(python, [benchScript('competitor.py'), '--threads', `${threads}`, '--seconds', `${LIMIT_SECONDS}`], {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: { ...environmentWithoutFinprintPolicy(), PYTHONDONTWRITEBYTECODE: '1' },
        });
        children.push(child);
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        exited.set(child, new Promise((resolve) => child.once('exit', () => resolve())));
        return new Promise<void>((resolve, reject) => {
          createInterface({ input: child.stdout! }).once('line', () => resolve());
          child.once('exit', (code) => reject(new Error(`a competing job (bench/competitor.py) exited with code ${code} before its first step: ${stderr.trim().split('\n').slice(-2).join(' | ')}`)));
        });
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { pids: children.map((c) => c.pid!), stop };
}
