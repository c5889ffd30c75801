/**
 * Time-weighted availability of one device, from its status transitions.
 *
 * Definitions (all over a window ending now; times in ms of the injected clock):
 * - up time / down time: how long the device was UP / DOWN inside the window; time the monitor
 *   did not observe (before the first heartbeat, while the monitor was stopped or cut off from
 *   the broker) is "unknown" and counts as neither.
 * - availability = up / (up + down); null when nothing was observed in the window.
 * - a failure is a change into DOWN from a last known status of UP (an outage that spans a
 *   monitor restart is one failure); a recovery is the change back to UP.
 * - MTBF = up time / failures starting in the window (null without failures);
 *   MTTR = mean DOWN time of the outages that ended in the window (null without recoveries).
 * - SLO: allowed down time = (1 - target) x 30 days; errorBudgetLeft = 1 - down30d / allowed;
 *   burnRate = (1 - availability over 1 h) / (1 - target), null when the hour saw nothing.
 */
import type { DeviceStatus } from './types.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const MONTH_MS = 30 * DAY_MS;

interface Transition {
  readonly t: number;
  readonly status: DeviceStatus;
}

export interface WindowFigures {
  readonly upMs: number;
  readonly downMs: number;
  readonly availability: number | null;
  readonly failures: number;
  readonly recoveries: number;
  readonly mtbfS: number | null;
  readonly mttrS: number | null;
}

export interface SloFigures {
  readonly errorBudgetLeft: number;
  readonly burnRate: number | null;
}

export class Timeline {
  private readonly transitions: Transition[] = [];

  /** Current status (unknown before anything was recorded). */
  get status(): DeviceStatus {
    return this.transitions[this.transitions.length - 1]?.status ?? 'unknown';
  }

  /** Records a status from time `t` on; repeats and time going backwards are ignored. */
  record(t: number, status: DeviceStatus): void {
    const last = this.transitions[this.transitions.length - 1];
    if (last && (last.status === status || t < last.t)) return;
    this.transitions.push({ t, status });
    this.prune(t);
  }

  /** Figures for the window (now - windowMs, now]. */
  window(now: number, windowMs: number): WindowFigures {
    const from = now - windowMs;
    let upMs = 0;
    let downMs = 0;
    let failures = 0;
    let recoveries = 0;
    let outageMs = 0;
    let repairedMs = 0;
    let lastKnown: DeviceStatus = 'unknown';
    const list = this.transitions;
    for (let i = 0; i < list.length; i++) {
      const cur = list[i]!;
      const end = Math.min(list[i + 1]?.t ?? now, now);
      const span = Math.max(0, end - Math.max(cur.t, from));
      if (cur.status === 'down') {
        if (lastKnown !== 'down') {
          outageMs = 0;
          if (cur.t > from) failures++;
        }
        outageMs += span;
        downMs += span;
      } else if (cur.status === 'up') {
        if (lastKnown === 'down' && cur.t > from) {
          recoveries++;
          repairedMs += outageMs;
        }
        upMs += span;
      }
      if (cur.status !== 'unknown') lastKnown = cur.status;
    }
    const observed = upMs + downMs;
    return {
      upMs,
      downMs,
      availability: observed > 0 ? upMs / observed : null,
      failures,
      recoveries,
      mtbfS: failures > 0 ? upMs / failures / 1000 : null,
      mttrS: recoveries > 0 ? repairedMs / recoveries / 1000 : null,
    };
  }

  /** Error budget over 30 days and burn rate over the last hour, for an SLO target in (0, 1). */
  slo(now: number, target: number): SloFigures {
    const allowed = (1 - target) * MONTH_MS;
    const month = this.window(now, MONTH_MS);
    const hour = this.window(now, HOUR_MS);
    return {
      errorBudgetLeft: 1 - month.downMs / allowed,
      burnRate: hour.availability === null ? null : (1 - hour.availability) / (1 - target),
    };
  }

  /** Forgets transitions that ended before the 30-day window (keeps the one in force then). */
  private prune(now: number): void {
    const from = now - MONTH_MS;
    let drop = 0;
    while (drop + 1 < this.transitions.length && this.transitions[drop + 1]!.t <= from) drop++;
    if (drop > 0) this.transitions.splice(0, drop);
  }
}
