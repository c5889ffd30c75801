/**
 * Bounds on what the embedded broker (aedes) holds for one client, the counterparts of the
 * shipped mosquitto.conf's `max_queued_messages` (1,000):
 *
 * - A client away with a persistent session (clean session off): at most MAX_QUEUED_MESSAGES
 *   QoS 1 messages wait for it; newer ones are dropped (one log line per client and absence).
 *   The count starts again when the client comes back and takes its queue.
 * - A connected client that does not read its socket: once MAX_QUEUED_BYTES are waiting in its
 *   send buffer, further messages for it are dropped until it catches up (one log line per
 *   backlog); aedes's drain timeout (60 s) then disconnects it.
 *
 * The count of queued messages per absent client is never forgotten while its queue exists: it is
 * dropped when the client comes back (and takes its queue) or when its session ends
 * (`endSession`, called by session-limits.ts). Only persistent sessions have such a queue, so the
 * count is bounded by the number of stored sessions (session-limits.ts, 1,000).
 */
import type { Aedes, Client } from 'aedes';

export const MAX_QUEUED_MESSAGES = 1000;
export const MAX_QUEUED_BYTES = 1024 * 1024;

interface Subscription {
  readonly clientId: string;
}

interface SessionStore {
  outgoingEnqueueCombi(subs: Subscription[], packet: unknown): Promise<void>;
  outgoingStream(client: { id: string }): AsyncIterable<{ messageId?: number }>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown>;
  cleanSubscriptions(client: { id: string }): Promise<void>;
  cleanIncoming?(client: { id: string }): Promise<void>;
}

export interface OfflineQueues {
  /** Ends an offline client's stored session: its subscriptions, queued messages and their count. */
  endSession(this: void, clientId: string): void;
}

export function boundOfflineQueues(broker: Aedes, log: (line: string) => void, max = MAX_QUEUED_MESSAGES): OfflineQueues {
  const queued = new Map<string, number>();
  const persistence = (broker as unknown as { persistence: SessionStore }).persistence;
  const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
  persistence.outgoingEnqueueCombi = (subs, packet) => {
    const kept = subs.filter((s) => {
      const n = queued.get(s.clientId) ?? 0;
      if (n === max) log(`dropping messages for client ${s.clientId}: ${max} already wait for it (persistent session, client away)`);
      if (n >= max) {
        queued.set(s.clientId, n + 1);
        return false;
      }
      queued.set(s.clientId, n + 1);
      return true;
    });
    return kept.length > 0 ? enqueue(kept, packet) : Promise.resolve();
  };
  // Back again: aedes hands it its queue now.
  broker.on('client', (client: Client) => queued.delete(client.id));
  return {
    endSession: (clientId) => {
      const ref = { id: clientId };
      queued.delete(clientId);
      void (async () => {
        await persistence.cleanSubscriptions(ref);
        await persistence.cleanIncoming?.(ref);
        // The memory store has no call to drop a queue whole: clear its packets one by one.
        for await (const packet of persistence.outgoingStream(ref)) await persistence.outgoingClearMessageId(ref, packet);
      })().catch((err: unknown) => log(`could not end the session of client ${clientId}: ${err instanceof Error ? err.message : String(err)}`));
    },
  };
}

const backlogged = new WeakSet<Client>();

/** True when a connected client's send buffer is full: the message for it is dropped. */
export function isBacklogged(client: Client, log: (line: string) => void, maxBytes = MAX_QUEUED_BYTES): boolean {
  const waiting = (client.conn as { writableLength?: number }).writableLength ?? 0;
  if (waiting < maxBytes) {
    backlogged.delete(client);
    return false;
  }
  if (!backlogged.has(client)) {
    backlogged.add(client);
    log(`dropping messages for client ${client.id}: ${waiting} bytes wait in its send buffer (at most ${maxBytes}); it does not read them`);
  }
  return true;
}
