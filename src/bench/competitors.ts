// Competing jobs for the shared-core benchmark: K PyTorch training processes (bench/competitor.py)
// with PyTorch's own defaults, started and ended by the bench. Each one stops when its stdin
// closes and after a time limit of its own, so none outlives a bench that crashed.
//
// Where the kernel groups processes by session (Linux's autogroup, on by default), it shares the
// cores between sessions first and between threads only within one. A job another user or another
// terminal started runs in a session of its own, and gets so by default here; jobs started from
// the same shell or script share finprint's session and take the cores thread by thread.
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

/** Where the competing jobs run: each in a session of its own, or in the bench's. */
export type CompetitorSession = 'own' | 'shared';

/** Starts `count` jobs of `threads` intra-op threads and resolves once each has run its first step. */
export async function startCompetitors(count: number, threads: number, session: CompetitorSession = 'own'): Promise<Competitors> {
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
          detached: session === 'own', // setsid(): a session, and so a scheduling group, of its own
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
