// The confirm timer apply --confirm starts as a detached process: at the deadline it rolls back unless `s2sgw confirm` ran.
import { layout, readPending } from './layout';
import { Runner } from './runner';
import { rollback, describeError } from './engine';
import { auditCommand, whoRuns } from './audit';

const LOCK_WAIT_MS = 10 * 60_000;

/** Waits for the pending confirm's deadline, then rolls back unless it was confirmed. Resolves with the exit code. */
export async function runTimer(root: string): Promise<number> {
  const l = layout(new Runner({ root }));
  const first = readPending(l);
  if (!first) return 0;
  const wait = Date.parse(first.deadline) - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const pending = readPending(l);
  if (!pending || pending.release !== first.release) {
    console.log(`${new Date().toISOString()} release ${first.release.slice(0, 12)} was confirmed or replaced`);
    return 0;
  }
  const runner = new Runner(pending.runner);
  console.log(`${new Date().toISOString()} no confirm for release ${pending.release.slice(0, 12)} by ${pending.deadline}: rolling back`);
  const who = { user: whoRuns(process.env).user, actor: `confirm timer: no \`s2sgw confirm\` by ${pending.deadline}` };
  const out = await auditCommand('confirm-timeout', runner, who, () => rollback(runner, { say: (s) => console.log(s), lockWaitMs: LOCK_WAIT_MS, expect: pending.release, op: 'confirm-timeout' }), (s) => console.log(s));
  if (out.error) console.log(describeError(out.error));
  return out.code;
}

/** Runs the timer as this process's whole job: `node confirm-timer.js ROOT`, or `s2sgw confirm-timer ROOT` (the executable). */
export function timerMain(root: string): void {
  runTimer(root).then(
    (c) => process.exit(c),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

if (require.main === module) timerMain(process.argv[2] ?? '/');
