/**
 * Where a board driver's reports go: to every subscriber, with nothing lost in the gaps.
 *
 * - Reports raised while the board is still opening (e.g. the plain-Firmata warning) go to the
 *   subscribers there are, and are kept and replayed to every later one.
 * - After that, reports raised while nobody listens are kept (at most `backlogLimit`) for the
 *   first subscriber, then dropped from the hub.
 * - The unsubscribe function stops delivery at once.
 */
import type { BoardReport } from '../../src/board/board.js';

export class ReportHub {
  private readonly listeners = new Set<(r: BoardReport) => void>();
  private readonly backlog: BoardReport[] = [];
  private readonly opening: BoardReport[] = [];
  private opened = false;

  constructor(private readonly backlogLimit = 32) {}

  /** From now on, reports are no longer opening reports. */
  markOpened(): void {
    this.opened = true;
  }

  subscribe(listener: (report: BoardReport) => void): () => void {
    this.listeners.add(listener);
    for (const r of this.opening) listener(r);
    for (const r of this.backlog.splice(0)) listener(r);
    return () => this.listeners.delete(listener);
  }

  publish(report: BoardReport): void {
    if (!this.opened) this.opening.push(report);
    else if (this.listeners.size === 0) {
      if (this.backlog.length < this.backlogLimit) this.backlog.push(report);
      return;
    }
    for (const l of this.listeners) l(report);
  }
}
