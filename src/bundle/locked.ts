// The one `--locked` check, apart from compile.ts: `validate --locked` needs it, not the targets and their templates
// that compile.ts loads (about 0.4 s of a validate process's start).
import { Diagnostic, error } from '../model/diagnostics';
import { Allocations, LockChange, allocate, LOCK_FILE } from '../model/lock';
import type { Model } from '../model/model';

/** What allocating the lock gives: the ids and their changes, or the finding that stops the build. */
export type LockOutcome = { ok: true; alloc: Allocations; changes: LockChange[] } | { ok: false; diagnostic: Diagnostic; alloc?: Allocations; changes: LockChange[] };

/**
 * Allocates ids over the validated model and, when `locked`, refuses any change to the lock. The one
 * definition of `--locked`: build, plan and validate all call it after validation (issue 17: the pull
 * request's gate equals main's), so they refuse the same things in the same order with the same message.
 */
export function allocateLocked(model: Model, prev: Allocations, locked: boolean): LockOutcome {
  let alloc: Allocations;
  let changes: LockChange[];
  try {
    ({ alloc, changes } = allocate(model, prev));
  } catch (e) {
    return { ok: false, diagnostic: error('lock/exhausted', { file: LOCK_FILE, line: 1, col: 1 }, (e as Error).message), changes: [] };
  }
  if (locked && changes.length) {
    const d = error('lock/would-change', { file: LOCK_FILE, line: 1, col: 1 }, `--locked: the lock file would change (${changes.length} change${changes.length === 1 ? '' : 's'}): ${changes.map((c) => c.what).join('; ')}`, {
      hint: 'run `s2sgw build` without --locked and commit allocations.lock.yaml with the tenant change',
    });
    return { ok: false, diagnostic: d, alloc, changes };
  }
  return { ok: true, alloc, changes };
}
