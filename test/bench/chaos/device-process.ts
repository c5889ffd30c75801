/**
 * One device of the chaos bench: `aquastop sim` as a child process in its own process group,
 * on its own data dir (the outbox survives a SIGKILL) and scenario file, reaching the broker
 * through its ChaosProxy. Each start is a new DeviceRun (tally.ts) whose stdout JSON lines are
 * kept (bounded); stderr keeps only its last few KB, for the report when something goes wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceSpec } from './plan.js';
import type { DeviceRun } from './tally.js';

/** Lines kept per run; past it lines are counted, not kept (a run at 4x for minutes prints a few thousand). */
const MAX_LINES = 200_000;
const STDERR_TAIL = 4_096;

export interface DeviceProcessOptions {
  readonly spec: DeviceSpec;
  readonly root: string;
  /** Where the repository is (the command runs from there). */
  readonly cwd: string;
  readonly scenarioPath: string;
  readonly brokerUrl: () => string;
  readonly password: string;
  readonly speed: number;
  readonly dataDir: () => string;
  /** Every child's process group id goes here, so the bench can kill them all on the way out. */
  readonly groups: Set<number>;
}

export class DeviceProcess {
  readonly runs: DeviceRun[] = [];
  private child: ChildProcess | null = null;
  private exited: Promise<unknown> | null = null;
  stderrTail = '';
  droppedLines = 0;

  constructor(private readonly o: DeviceProcessOptions) {}

  get id(): string {
    return this.o.spec.id;
  }

  get running(): boolean {
    return this.child !== null;
  }

  start(): void {
    if (this.child) return;
    const dataDir = this.o.dataDir();
    const run: DeviceRun = { device: this.id, bootBefore: storedBoot(dataDir, this.id), startedAt: Date.now(), readyAt: null, endedAt: null, killed: false, lines: [] };
    this.runs.push(run);
    const args = ['--import', 'tsx', 'src/cli.ts', 'sim', '--scenario', this.o.scenarioPath, '--speed', String(this.o.speed), '--json'];
    args.push('--board', this.o.spec.board, '--id', this.id, '--broker', this.o.brokerUrl(), '--username', this.o.spec.account, '--data-dir', dataDir);
    const child = spawn(process.execPath, args, {
      cwd: this.o.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // The password stays out of `ps`; the sim's scratch files land in the bench's temp dir.
      env: { ...process.env, AQUASTOP_MQTT_PASSWORD: this.o.password, TMPDIR: join(this.o.root, 'tmp'), FORCE_COLOR: '0' },
    });
    this.child = child;
    this.o.groups.add(child.pid!);
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        run.readyAt ??= Date.now();
        if (run.lines.length >= MAX_LINES) {
          this.droppedLines++;
          continue;
        }
        try {
          // `_at`: when the bench read it (wall ms), to place it among the chaos events.
          run.lines.push({ ...(JSON.parse(text) as Record<string, unknown>), _at: Date.now() });
        } catch {
          // a line cut by SIGKILL, or not JSON: not a device event
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL);
    });
    this.exited = once(child, 'exit').then(() => {
      run.endedAt ??= Date.now();
      this.o.groups.delete(child.pid!);
      if (this.child === child) this.child = null;
    });
  }

  /** SIGKILL to the whole process group; resolves once it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const run = this.runs.at(-1)!;
    run.killed = true;
    // Stamped before the signal: its last will can reach the monitor before this process hears of the exit.
    run.endedAt = Date.now();
    killGroup(child.pid!, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM (the sim flushes and publishes itself offline), SIGKILL after `ms`. */
  async stop(ms = 15_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.runs.at(-1)!.endedAt ??= Date.now();
    killGroup(child.pid!, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** The boot count the device's telemetry.json holds (0 when there is none or it is unreadable). */
export function storedBoot(dataDir: string, id: string): number {
  try {
    const boot = (JSON.parse(readFileSync(join(dataDir, id, 'telemetry.json'), 'utf8')) as { boot?: unknown }).boot;
    return typeof boot === 'number' ? boot : 0;
  } catch {
    return 0;
  }
}
