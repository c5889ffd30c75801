/**
 * The simulated board: a thin Board over a Plant. Reads are the plant's signals, outputs
 * go straight to the plant. It has no firmware, so no watchdog and no reports of its own.
 */
import type { Board, BoardInputs, BoardReport } from '../src/board/board.js';
import type { Plant } from '../src/board/plant.js';

export class SimulatedBoard implements Board {
  readonly kind = 'simulated' as const;
  readonly pulsesPerLitre: number;
  private closed = false;
  private readonly listeners = new Set<(report: BoardReport) => void>();

  constructor(private readonly plant: Plant) {
    this.pulsesPerLitre = plant.pulsesPerLitre;
  }

  async open(): Promise<void> {
    this.closed = false;
    this.plant.setValve(false);
    this.plant.setDrainPump(false);
  }

  read(): BoardInputs {
    return this.plant.signals();
  }

  setValve(open: boolean): void {
    if (!this.closed) this.plant.setValve(open);
  }

  setDrainPump(on: boolean): void {
    if (!this.closed) this.plant.setDrainPump(on);
  }

  keepalive(): void {
    // No firmware watchdog to feed.
  }

  onReport(listener: (report: BoardReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** For fault injection: make the board say something (e.g. a link loss). */
  report(report: BoardReport): void {
    for (const listener of [...this.listeners]) listener(report);
  }

  async close(): Promise<void> {
    this.plant.setValve(false);
    this.plant.setDrainPump(false);
    this.closed = true;
  }
}
