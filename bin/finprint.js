#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled TypeScript.
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((err) => {
  console.error(`finprint: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
