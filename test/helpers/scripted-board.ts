/**
 * A board whose inputs a test sets directly and whose outputs it reads back, like
 * @serialport/binding-mock's scriptable port. It keeps the Board contract (safe outputs
 * after open, no-ops after close) so the runtime can be tested without physics.
 */
import type { Board, BoardInputs, BoardReport } from '../../src/board/board.js';

export class ScriptedBoard implements Board {
  readonly kind = 'simulated' as const;
  readonly pulsesPerLitre = 450;
  inputs: { -readonly [K in keyof BoardInputs]: BoardInputs[K] } = { float: 'dry', flowPulses: 0, tubLevelL: 0 };
  valve = false;
  pump = false;
  keepalives = 0;
  opened = false;
  closed = false;
  /** Set to make the next read() throw. */
  failReads: Error | null = null;
  private readonly listeners = new Set<(r: BoardReport) => void>();

  async open(): Promise<void> {
    this.opened = true;
    this.valve = false;
    this.pump = false;
  }
  read(): BoardInputs {
    if (this.failReads) throw this.failReads;
    return { ...this.inputs };
  }
  setValve(open: boolean): void {
    if (!this.closed) this.valve = open;
  }
  setDrainPump(on: boolean): void {
    if (!this.closed) this.pump = on;
  }
  keepalive(): void {
    this.keepalives++;
  }
  onReport(listener: (report: BoardReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  report(report: BoardReport): void {
    for (const l of this.listeners) l(report);
  }
  async close(): Promise<void> {
    this.valve = false;
    this.pump = false;
    this.closed = true;
  }
}
