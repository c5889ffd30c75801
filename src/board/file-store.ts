/**
 * The controller's memory in a JSON file, written durably (durable-file.ts) so a power cut
 * during a save leaves the old or the new contents, never a torn or missing file.
 *
 * A marker beside it (`<file>.booted`) records that this device has kept a memory before: a
 * memory file that is gone while the marker is there (deleted, lost to a bad card) is a memory
 * fault (i80, valve closed), not a silent fresh start that would forget a latched trip.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeDurably } from './durable-file.js';
import { emptyMemory, MemoryFaultError, persistedMemorySchema, type PersistedMemory, type Store } from './store.js';

export class FileStore implements Store {
  private readonly marker: string;
  private marked: boolean | null = null;

  constructor(private readonly path: string) {
    this.marker = `${path}.booted`;
  }

  load(): PersistedMemory {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        if (existsSync(this.marker)) throw new MemoryFaultError(`${this.path} is missing, but this device has kept a memory before`);
        return emptyMemory();
      }
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
    writeDurably(this.path, JSON.stringify(persistedMemorySchema.parse(memory)));
    // The marker follows the first memory durably written, so it never claims a memory that was not kept.
    this.marked ??= existsSync(this.marker);
    if (!this.marked) {
      writeDurably(this.marker, 'this device keeps its memory in the file beside this one\n');
      this.marked = true;
    }
  }
}
