/**
 * Persistent memory of one controller: the latched trip, the fault memory (last codes, like
 * the appliance's service memory) and the boot counter. Behind an interface with an
 * in-memory default, like avr8js's EEPROMBackend; file-store.ts keeps it on disk.
 *
 * Contract: `load()` returns what the last `save()` stored (or `emptyMemory()` for a
 * store that never saved) and throws `MemoryFaultError` when the stored data cannot be read,
 * in which case the controller goes to service with i80. `save()` is atomic: after a crash
 * the previous or the new contents are read, never a mix.
 */
import { z } from 'zod';
import { FAULT_CODES } from '../machine/catalogue.js';
import { FAULT_MEMORY_SIZE } from '../protocol/topics.js';

// The size of the fault memory is part of the MQTT contract (its payload), so it is defined there.
export { FAULT_MEMORY_SIZE };

const faultCode = z.enum(FAULT_CODES);

export const persistedMemorySchema = z
  .object({
    version: z.literal(1),
    boot: z.number().int().nonnegative(),
    latch: z
      .object({
        code: faultCode,
        breaker: z.enum(['latched', 'service']),
        detail: z.string().max(200).optional(),
      })
      .nullable(),
    faultMemory: z
      .array(
        z.object({
          code: faultCode,
          /** Clock time (ms) when raised. */
          at: z.number(),
          detail: z.string().max(200).optional(),
        }),
      )
      .max(FAULT_MEMORY_SIZE),
  })
  .strict();

export type PersistedMemory = z.output<typeof persistedMemorySchema>;

export function emptyMemory(): PersistedMemory {
  return { version: 1, boot: 0, latch: null, faultMemory: [] };
}

export class MemoryFaultError extends Error {
  readonly memoryFault = true;
  constructor(message: string) {
    super(message);
    this.name = 'MemoryFaultError';
  }
}

export interface Store {
  load(): PersistedMemory;
  save(memory: PersistedMemory): void;
}

export class MemoryStore implements Store {
  private data: string | null = null;
  load(): PersistedMemory {
    if (this.data === null) return emptyMemory();
    try {
      return persistedMemorySchema.parse(JSON.parse(this.data));
    } catch {
      throw new MemoryFaultError('stored memory is corrupt');
    }
  }
  save(memory: PersistedMemory): void {
    this.data = JSON.stringify(persistedMemorySchema.parse(memory));
  }
  /** For tests: corrupt the stored bytes to provoke i80. */
  corrupt(): void {
    this.data = '{"version":1,"boot":';
  }
}
