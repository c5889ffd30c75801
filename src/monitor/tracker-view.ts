/**
 * What the subscriber, the metrics and the HTTP API use of a tracker: one Tracker (one
 * machine, the file history), or the shards one of several monitors that share a fleet holds
 * (shared.ts), which answers the same way.
 */
import type { Tracker } from './tracker.js';

export type TrackerView = Pick<
  Tracker,
  | 'onHeartbeat'
  | 'onAvailability'
  | 'onBridgeState'
  | 'onState'
  | 'onFault'
  | 'onConnection'
  | 'ids'
  | 'report'
  | 'reports'
  | 'history'
  | 'faultCounts'
  | 'size'
  | 'maxDevices'
  | 'bounds'
  | 'diskLines'
  | 'stop'
>;
