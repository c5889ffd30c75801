/**
 * An optional capability of a board: staging faults of the link between the host (the
 * controller runtime) and the board, for the simulator's chaos steps. The simulated board and
 * the emulated Arduino can stage them; a real Arduino on USB cannot (someone pulls the cable).
 * The simulator asks a board for this capability and refuses a scenario that needs a fault
 * the board cannot stage: a step is never silently skipped.
 */
import type { Board } from './board.js';
import { UsageError } from '../errors/usage-error.js';

/**
 * - `linkLost`: the serial line is cut (both ways): the host's keepalives no longer reach the
 *   board, so its own watchdog closes the valve within its link timeout (2 s) and the host
 *   reports the link lost (iC0); the port itself stays open. Ending it mends the line and the
 *   host re-arms the board.
 * - `usbUnplug`: the port disappears: the host sees it close at once (iC0) and retries it in the
 *   background; the board, still powered, closes the valve on its own watchdog. Ending it brings
 *   the port back: the host's next retry reopens it and re-arms the board.
 */
export const LINK_FAULTS = ['linkLost', 'usbUnplug'] as const;
export type LinkFault = (typeof LINK_FAULTS)[number];

export interface LinkFaultStage {
  /** The link faults this board can stage. */
  readonly linkFaults: readonly LinkFault[];
  /** Starts (`active` true) or ends one of `linkFaults`; any other throws. Idempotent. */
  setLinkFault(fault: LinkFault, active: boolean): void;
}

export function isLinkFault(name: unknown): name is LinkFault {
  return (LINK_FAULTS as readonly unknown[]).includes(name);
}

/** The board's link-fault stage, or null when it has none. */
export function linkFaultStage(board: Board): LinkFaultStage | null {
  const b = board as Partial<LinkFaultStage>;
  return Array.isArray(b.linkFaults) && typeof b.setLinkFault === 'function' ? (b as LinkFaultStage) : null;
}

/** A scenario asks a board for a link fault it cannot stage: one line, exit 2. */
export class UnsupportedLinkFaultError extends UsageError {
  constructor(
    readonly fault: string,
    readonly boardKind: string,
  ) {
    super(`the ${boardKind} board cannot stage "${fault}"`);
  }
}
