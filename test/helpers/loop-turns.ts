/**
 * How many times the event loop turned (setImmediate callbacks ran) while `work` was pending.
 * Work done on the loop itself finishes before any of them can run: 0 turns.
 */
export async function loopTurnsWhile(work: Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    await work;
  } finally {
    done = true;
  }
  return turns;
}
