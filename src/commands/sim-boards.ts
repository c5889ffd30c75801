/**
 * The boards `aquastop sim` can put under a simulation, by name. The command is where sim/ and
 * hardware/ meet (neither imports the other): the simulated board comes from sim/, the emulated
 * Arduino from hardware/, and both are handed to the engine as a factory.
 */
import type { BoardFactory } from '../../sim/engine.js';

export type SimBoardKind = 'simulated' | 'emulated';

export interface SimBoardOptions {
  /** The emulated board's EEPROM file (its latch survives a power cut of the simulation). */
  readonly eepromPath: string;
}

/** The factory for `kind`; undefined for the simulated board (the engine's default). */
export async function simBoardFactory(kind: SimBoardKind, options: SimBoardOptions): Promise<BoardFactory | undefined> {
  if (kind === 'simulated') return undefined;
  const { createEmulatedBoard } = await import('../../hardware/boards/emulated-board.js');
  return (plant, clock) => createEmulatedBoard({ plant, clock, eepromPath: options.eepromPath });
}
