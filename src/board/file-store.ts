/**
 * The controller's memory in a JSON file, written atomically (temp file + rename) so a
 * power cut during a save leaves the old or the new contents, never a torn file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { emptyMemory, MemoryFaultError, persistedMemorySchema, type PersistedMemory, type Store } from './store.js';

export class FileStore implements Store {
  constructor(private readonly path: string) {}

  load(): PersistedMemory {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyMemory();
      throw new MemoryFaultError(`cannot read ${this.path}: ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new MemoryFaultError(`${this.path} is not valid JSON`);
    }
    const parsed = persistedMemorySchema.safeParse(json);
    if (!parsed.success) throw new MemoryFaultError(`${this.path} does not match the memory schema`);
    return parsed.data;
  }

  save(memory: PersistedMemory): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(persistedMemorySchema.parse(memory)));
    renameSync(tmp, this.path);
  }
}
