/**
 * How monitors that share a fleet split it: a fixed number of shards, and a device's shard by a
 * stable hash of its id (32-bit FNV-1a over the id's UTF-8 bytes, modulo the shard count). Every
 * instance, of any version, must compute the same shard for an id, so neither the hash nor
 * SHARD_COUNT may change without moving the history table's rows (src/monitor/README.md,
 * "Monitors that share a fleet"). 64 shards: fine-grained enough that K instances get nearly
 * equal parts (64 / 3 = 21 or 22) and a dead instance's part is spread over the others, few
 * enough that a lease round is one statement.
 */

export const SHARD_COUNT = 64;

/** The shard of a device id, in [0, shards). */
export function shardOf(id: string, shards = SHARD_COUNT): number {
  if (shards === 1) return 0;
  const bytes = Buffer.from(id, 'utf8');
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}
