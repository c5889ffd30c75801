/**
 * Stop signals for a long-running command, honoured at any moment: listening starts before the
 * command does anything, the first SIGINT or SIGTERM resolves `stopped` (the command then stops
 * cleanly, whatever it was waiting for), and from then on the handlers are gone, so a second
 * signal ends the process at once (the default action) if the clean stop hangs.
 */
export interface StopSignals {
  /** Resolves with the first SIGINT or SIGTERM. */
  readonly stopped: Promise<NodeJS.Signals>;
  /** The signal received, or null. */
  readonly received: NodeJS.Signals | null;
  /** Stops listening (the default action again); call it when the command ends, however it ends. */
  dispose(): void;
}

export function watchStopSignals(): StopSignals {
  let received: NodeJS.Signals | null = null;
  let resolve!: (sig: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const on = (sig: NodeJS.Signals) => {
    received = sig;
    dispose();
    resolve(sig);
  };
  const dispose = () => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    stopped,
    get received() {
      return received;
    },
    dispose,
  };
}

/** `work`'s value, or null when a stop signal comes first (`work` is left to settle on its own, its failure ignored). */
export async function unlessStopped<T>(work: Promise<T>, signals: StopSignals): Promise<T | null> {
  work.catch(() => undefined);
  return Promise.race([work, signals.stopped.then(() => null)]);
}
