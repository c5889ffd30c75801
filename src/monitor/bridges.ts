/**
 * Which process (bridge) publishes which device, so that one process's death makes DOWN only
 * its own devices.
 *
 * Every process has its own bridge topic, `<base>/bridge/<bridgeId>/state`, with a last will
 * `{"state":"offline"}`; each device's availability names its bridge (`{"state","bridge"}`).
 *
 * Contract:
 * - `offlineDevices(bridge)` after a bridge went offline: the devices whose last availability
 *   named that bridge, and no other.
 * - `isOffline(bridge)`: the bridge's last known state was offline. Retained messages arrive in
 *   no fixed order across topics, so a device's retained "online" may come after its dead
 *   process's retained "offline": the caller treats that device as DOWN.
 * - Bounded: at most `maxEntries` bridges and as many devices are remembered; past that the one
 *   heard of longest ago is forgotten (a forgotten device is no longer tied to a bridge until its
 *   availability comes again, which every process republishes after each reconnect).
 */
export const BRIDGE_BOOK_MAX = 100_000;

export class BridgeBook {
  private readonly bridgeOf = new Map<string, string>();
  private readonly states = new Map<string, 'online' | 'offline'>();

  constructor(private readonly maxEntries = BRIDGE_BOOK_MAX) {}

  /** A device's availability named its bridge. */
  noteDevice(id: string, bridge: string): void {
    remember(this.bridgeOf, id, bridge, this.maxEntries);
  }

  /** A bridge's state came; returns the devices it takes offline (empty when it is online). */
  noteBridge(bridge: string, state: 'online' | 'offline'): string[] {
    remember(this.states, bridge, state, this.maxEntries);
    if (state === 'online') return [];
    const ids: string[] = [];
    for (const [id, b] of this.bridgeOf) if (b === bridge) ids.push(id);
    return ids;
  }

  bridgeOfDevice(id: string): string | undefined {
    return this.bridgeOf.get(id);
  }

  isOffline(bridge: string): boolean {
    return this.states.get(bridge) === 'offline';
  }

  forgetDevice(id: string): void {
    this.bridgeOf.delete(id);
  }

  get size(): { devices: number; bridges: number } {
    return { devices: this.bridgeOf.size, bridges: this.states.size };
  }
}

/** Sets a key as the most recent one (Map order), dropping the oldest past `max`. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}
