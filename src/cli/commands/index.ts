import type { Command } from 'commander';
import { register as doctor } from './doctor.js';

/** Each command lives in its own module under ./ and registers itself here. */
export function registerCommands(program: Command): void {
  doctor(program);
}
