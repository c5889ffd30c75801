/**
 * The Board contract on a real Arduino (our firmware flashed, nothing wired is needed) when
 * AQUASTOP_TEST_PORT names its port, e.g. AQUASTOP_TEST_PORT=/dev/ttyACM0 npx vitest run test/board.
 * Time is wall time here: the waits are bounded sleeps with keepalives, as a runtime would send.
 */
import { describe } from 'vitest';
import { JohnnyFiveBoard } from '../../hardware/boards/johnny-five-board.js';
import { boardContract } from './contract.js';

const port = process.env.AQUASTOP_TEST_PORT;
if (!port) console.warn('SKIP: Board contract on a real Arduino: set AQUASTOP_TEST_PORT=/dev/ttyACM0 (or another port) to run it');

describe.skipIf(!port)('real Arduino on AQUASTOP_TEST_PORT', () => {
  boardContract(
    `usb (${port})`,
    async () => {
      const board = new JohnnyFiveBoard({ port: port!, kind: 'usb' });
      return {
        board,
        async advance(ms) {
          for (let done = 0; done < ms; done += 100) {
            board.keepalive();
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        dispose: () => board.close(),
      };
    },
    30_000,
  );
});
