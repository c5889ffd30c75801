/**
 * What telemetry keeps on disk for one device, in `<dataDir>/<id>/telemetry.json`:
 * the boot counter (heartbeat `boot`, fault event ids) and the outbox of fault events not yet
 * acknowledged by the broker.
 *
 * Contract:
 * - `begin()` loads the file, counts a boot and saves; events still in the outbox from an
 *   earlier run are returned first by `pending()`, in the order they were raised.
 * - `add()` saves the event before it is handed to MQTT; `ack()` removes it once the broker
 *   has acknowledged it (QoS 1). So a crash or an outage loses nothing; a re-delivered event
 *   carries the same `id`.
 * - The outbox is bounded (`limit`, default 1,000): past it the oldest event is dropped and
 *   counted in `dropped`, never the newest.
 * - Writes are atomic (write to a temporary file, then rename). A file that cannot be read is
 *   moved aside (`.corrupt`) and the device starts afresh; a failed write is reported through
 *   `onError` and the events stay in memory. When the boot count is lost or cannot be kept,
 *   boots are numbered by wall-clock seconds instead, so event ids still never repeat.
 */
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { nodeDurableFs, writeDurably, type DurableFs } from '../board/durable-file.js';
import { z } from 'zod';
import { faultEventSchema } from '../protocol/topics.js';

export type WireFaultEvent = z.output<typeof faultEventSchema>;

const fileSchema = z
  .object({
    version: z.literal(1),
    boot: z.number().int().nonnegative(),
    outbox: z.array(faultEventSchema),
  })
  .strict();

export interface OutboxOptions {
  readonly dataDir: string;
  readonly deviceId: string;
  readonly limit?: number;
  readonly onError?: (message: string) => void;
  /** Wall time, used only to number boots when the stored count is lost; default Date.now. */
  readonly wallNow?: () => number;
  /** How the file is written; default durably (fsync). A simulated fleet passes one without fsync (telemetry/fleet.ts). */
  readonly fs?: DurableFs;
}

export class DeviceOutbox {
  private readonly dataDir: string;
  private readonly deviceId: string;
  boot = 0;
  dropped = 0;
  private events: WireFaultEvent[] = [];
  private seq = 0;
  private readonly limit: number;
  private readonly onError: (message: string) => void;
  private readonly wallNow: () => number;
  private readonly fs: DurableFs;
  /** False when the stored boot count was lost (a corrupt file moved aside). */
  private remembered = true;
  private loaded = false;

  constructor(options: OutboxOptions) {
    this.dataDir = options.dataDir;
    this.deviceId = options.deviceId;
    this.limit = options.limit ?? 1_000;
    this.onError = options.onError ?? (() => undefined);
    this.wallNow = options.wallNow ?? Date.now;
    this.fs = options.fs ?? nodeDurableFs;
  }

  /** The file, joined when it is read or written (a path kept in each of a fleet's appliances held about 100 bytes). */
  get path(): string {
    return join(this.dataDir, this.deviceId, 'telemetry.json');
  }

  /** Counts a boot and saves; the first time, loads what an earlier run left. */
  begin(): void {
    if (!this.loaded) {
      // Only the first boot in this process reads the file; later ones (a power cut and restore)
      // keep what is in memory, which is newer, and may be all there is when the disk fails.
      const stored = this.load();
      this.boot = stored.boot;
      this.events = stored.outbox;
      this.loaded = true;
    }
    this.boot++;
    this.seq = 0;
    const kept = this.remembered && this.save();
    if (!kept) {
      // The count was lost (unreadable file) or cannot be kept (unwritable): boots numbered from 1
      // again would repeat event ids a consumer has seen. Seconds since 1970 cannot repeat them.
      this.boot = Math.max(this.boot, Math.floor(this.wallNow() / 1000));
      if (!this.remembered) this.save();
    }
    this.remembered = true;
  }

  /** A new event id, unique for this device across restarts. */
  nextId(): string {
    return `${this.boot}-${++this.seq}`;
  }

  add(event: WireFaultEvent): void {
    this.events.push(event);
    if (this.events.length > this.limit) {
      this.events.shift();
      this.dropped++;
    }
    this.save();
  }

  ack(id: string): void {
    const i = this.events.findIndex((e) => e.id === id);
    if (i < 0) return;
    this.events.splice(i, 1);
    this.save();
  }

  pending(): readonly WireFaultEvent[] {
    return [...this.events];
  }

  private load(): z.output<typeof fileSchema> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return { version: 1, boot: 0, outbox: [] };
    }
    try {
      return fileSchema.parse(JSON.parse(text));
    } catch {
      this.remembered = false;
      this.onError(`${this.path} is unreadable; kept as ${this.path}.corrupt, starting afresh`);
      try {
        renameSync(this.path, `${this.path}.corrupt`);
      } catch {
        // nothing more to keep
      }
      return { version: 1, boot: 0, outbox: [] };
    }
  }

  /** True when the file was written. */
  private save(): boolean {
    try {
      // Durably: a power cut leaves the old or the new outbox, and the new one once this returned.
      writeDurably(this.path, JSON.stringify({ version: 1, boot: this.boot, outbox: this.events }), this.fs, 'tmp');
      return true;
    } catch (err) {
      this.onError(`cannot write ${this.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; fault events are kept in memory only`);
      return false;
    }
  }
}
