// miewid_tiny's weights alone, as a checkpoint file: the fixture without its reference tensors.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { saveSafetensors } from '../../src/io/safetensors.js';
import { loadFixtureTensors } from '../models/timm_fixture.js';

/** Writes the file (folders made); returns its keys. */
export async function writeTinyMiewId(file: string): Promise<string[]> {
  const { stateDict, tensors } = await loadFixtureTensors('miewid_tiny', ['__input__', '__features__', '__embedding__']);
  await mkdir(dirname(file), { recursive: true });
  await saveSafetensors(file, stateDict);
  for (const t of [...stateDict.values(), ...Object.values(tensors)]) t.dispose();
  return [...stateDict.keys()];
}
