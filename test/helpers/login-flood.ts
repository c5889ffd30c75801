/**
 * A login flood against an MQTT broker on loopback, run as its own process so that the
 * attacker's work does not count against the event loop being measured:
 *
 *   node --import tsx test/helpers/login-flood.ts '{"port":1883,"bad":300,"good":300,"username":"operator","password":"demo"}'
 *
 * All clients start at once, each from its own loopback address (127.10.x.y bad, 127.20.x.y
 * good), as many machines would. A bad client guesses an unknown user name; a good one logs in
 * with the given account. A client told "server unavailable" (CONNACK 3) or closed before an
 * answer tries again 1 s later (mqtt.js's default reconnect period), until `timeoutMs`
 * (default 120 s). Prints one JSON object: outcomes of first attempts and final ones, attempts,
 * and when the last good client got in.
 */
import { pathToFileURL } from 'node:url';
import { tryLogin, type LoginOutcome } from './mqtt-login.js';

export interface FloodPlan {
  readonly port: number;
  readonly bad: number;
  readonly good: number;
  readonly username: string;
  readonly password: string;
  readonly timeoutMs?: number;
}

export interface FloodResult {
  readonly firstAttempt: Record<string, number>;
  readonly final: { readonly good: Record<string, number>; readonly bad: Record<string, number> };
  readonly attempts: number;
  readonly lastGoodInMs: number | null;
  readonly wallMs: number;
}

const label = (o: LoginOutcome) => (o.ok ? 'accepted' : String(o.code));
const address = (block: number, i: number) => `127.${block}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function flood(plan: FloodPlan): Promise<FloodResult> {
  const t0 = performance.now();
  const deadline = t0 + (plan.timeoutMs ?? 120_000);
  const first: Record<string, number> = {};
  const final = { good: {} as Record<string, number>, bad: {} as Record<string, number> };
  let attempts = 0;
  let lastGood: number | null = null;
  const one = async (good: boolean, i: number) => {
    const who = good ? { username: plan.username, password: plan.password } : { username: `guess-${i}`, password: `wrong-${i}` };
    let outcome: LoginOutcome;
    for (let n = 0; ; n++) {
      attempts++;
      outcome = await tryLogin({ port: plan.port, ...who, localAddress: address(good ? 20 : 10, i), timeoutMs: 30_000 });
      if (n === 0) first[label(outcome)] = (first[label(outcome)] ?? 0) + 1;
      const retry = !outcome.ok && (outcome.code === 3 || outcome.code === 'closed');
      if (!retry || performance.now() > deadline) break;
      await wait(1_000 + (i % 100));
    }
    if (good && outcome.ok) lastGood = performance.now() - t0;
    const bucket = good ? final.good : final.bad;
    bucket[label(outcome)] = (bucket[label(outcome)] ?? 0) + 1;
  };
  await Promise.all([...Array.from({ length: plan.bad }, (_, i) => one(false, i)), ...Array.from({ length: plan.good }, (_, i) => one(true, i))]);
  return { firstAttempt: first, final, attempts, lastGoodInMs: lastGood === null ? null : Math.round(lastGood), wallMs: Math.round(performance.now() - t0) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const plan = JSON.parse(process.argv[2] ?? '{}') as FloodPlan;
  process.stdout.write(`${JSON.stringify(await flood(plan))}\n`);
  process.exit(0);
}
