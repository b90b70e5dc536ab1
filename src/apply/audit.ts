// The audit trail: who ran each apply, confirm and rollback, on which bundle (commit, signer), with what outcome and how
// long it took; one JSON line in <root>/var/log/s2sgw/audit.log (rotated by size here) and one line to the journal.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { which } from '../util/exec';
import { childEnv } from '../util/env';
import { readIfExists, writeWhole } from './fsx';
import { layout, Layout } from './layout';
import { manifestHead, Provenance } from './trust';
import type { Outcome } from './engine';
import type { Options } from '../util/options';

export const AUDIT_LOG = '/var/log/s2sgw/audit.log';
/** audit.log is rotated when a record would take it past this size; audit.log.1 ... .KEEP are kept. */
export const AUDIT_MAX_BYTES = 10 * 1024 * 1024;
export const AUDIT_KEEP = 5;

/** The option apply, confirm and rollback take to name who runs them when that is not the Unix user (a CI job). */
export const AUDIT_OPTIONS: Options = { actor: { type: 'string', value: 'WHO', description: 'who asked for this, for the audit log (default: SUDO_USER, USER or LOGNAME)', example: '--actor ci-pipeline-1234' } };

export interface AuditRecord {
  time: string;
  command: 'apply' | 'confirm' | 'rollback' | 'confirm-timeout';
  /** The Unix user: SUDO_USER (who ran sudo), else USER or LOGNAME, else `uid N`. */
  user: string;
  /** Who asked, when not the user: --actor, S2SGW_ACTOR, or the CI job (GitHub Actions, GitLab CI). */
  actor?: string;
  host: string;
  /** The bundle folder apply was given. */
  bundle?: string;
  /** The release the command put in place (apply, rollback) or confirmed. */
  release?: string | null;
  gateway?: string;
  commit?: string | null;
  dirty?: boolean;
  signer?: string | null;
  key?: string;
  outcome: 'ok' | 'refused' | 'failed' | 'rolled-back';
  /** The failed step and its message (never the tool's output, which may quote files). */
  error?: string;
  durationMs: number;
}

const clean = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 200);

/** Who runs this command: the Unix user, and the CI job or person named on its behalf. */
export function whoRuns(env: NodeJS.ProcessEnv, actorOption?: string): Pick<AuditRecord, 'user' | 'actor'> {
  const user = env.SUDO_USER || env.USER || env.LOGNAME || `uid ${process.getuid?.() ?? '?'}`;
  let actor = actorOption ?? env.S2SGW_ACTOR;
  if (!actor && env.GITHUB_ACTOR) actor = `${env.GITHUB_ACTOR} (GitHub Actions${env.GITHUB_REPOSITORY ? ` ${env.GITHUB_REPOSITORY}` : ''}${env.GITHUB_RUN_ID ? ` run ${env.GITHUB_RUN_ID}` : ''})`;
  if (!actor && env.GITLAB_USER_LOGIN) actor = `${env.GITLAB_USER_LOGIN} (GitLab CI${env.CI_PROJECT_PATH ? ` ${env.CI_PROJECT_PATH}` : ''}${env.CI_JOB_ID ? ` job ${env.CI_JOB_ID}` : ''})`;
  return { user: clean(user), ...(actor ? { actor: clean(actor) } : {}) };
}

/** What each release was applied from that its manifest does not say (the signer): <state>/provenance.json. */
function provenanceFile(l: Layout): string {
  return path.join(l.state, 'provenance.json');
}

type Remembered = Record<string, { signer: string | null; key?: string; bundle: string }>;

function remembered(l: Layout): Remembered {
  try {
    return JSON.parse(readIfExists(provenanceFile(l)) ?? '{}') as Remembered;
  } catch {
    return {};
  }
}

/** Records who signed the bundle a release was staged from, for the audit records of later rollbacks and confirms. */
export function rememberRelease(l: Layout, release: string, p: Provenance, bundle: string): void {
  const all = remembered(l);
  all[release] = { signer: p.signer, ...(p.key ? { key: p.key } : {}), bundle };
  // Only releases the host still holds.
  for (const r of Object.keys(all)) if (!fs.existsSync(path.join(l.releases, r))) delete all[r];
  // Whole, not durable (its folder is not fsynced: one fsync less in every apply, 2-8 ms on a busy disk): after a power
  // loss this version or the one before, each whole; what the older one lacks (the newest release's signer, which the
  // audit log's line of that apply names too) only makes a later rollback's audit record say less.
  writeWhole(provenanceFile(l), JSON.stringify(all, null, 1) + '\n', 0o600);
}

/** A release's gateway, commit and signer, from its manifest and provenance.json (what is known; nothing throws). */
export function releaseFacts(l: Layout, release: string | null | undefined): Partial<AuditRecord> {
  if (!release) return { release: release ?? null };
  const out: Partial<AuditRecord> = { release };
  try {
    const h = manifestHead(fs.readFileSync(path.join(l.releases, release, 'manifest.json')));
    Object.assign(out, { gateway: h.gateway, ...(h.source !== undefined ? { commit: h.source?.commit ?? null, ...(h.source ? { dirty: h.source.dirty } : {}) } : {}) });
  } catch {
    /* pruned or unreadable: the name is what is known */
  }
  const r = remembered(l)[release];
  if (r) Object.assign(out, { signer: r.signer, ...(r.key ? { key: r.key } : {}), bundle: r.bundle });
  return out;
}

/** The outcome of a command as the audit says it. */
export function outcomeOf(out: Outcome): Pick<AuditRecord, 'outcome' | 'error'> {
  if (out.code === 0) return { outcome: 'ok' };
  const e = out.error;
  const outcome = out.rolledBackTo !== undefined ? 'rolled-back' : e && ['gateway', 'signature', 'verify'].includes(e.step) ? 'refused' : 'failed';
  return { outcome, ...(e ? { error: clean(`${e.step}: ${e.message}`).slice(0, 200) } : {}) };
}

export interface AuditSinks {
  /** The syslog socket logger writes to (journald listens on it too). */
  devLog?: string;
  /** journald's native socket: logger --journald, with the record's fields as journal fields. */
  journalSocket?: string;
  maxBytes?: number;
}

/** Renames audit.log to audit.log.1 (and .1 to .2, ...) when `incoming` more bytes would take it past `max`. */
function rotate(file: string, incoming: number, max: number): void {
  let size = 0;
  try {
    size = fs.statSync(file).size;
  } catch {
    return;
  }
  if (size === 0 || size + incoming <= max) return;
  fs.rmSync(`${file}.${AUDIT_KEEP}`, { force: true });
  for (let i = AUDIT_KEEP - 1; i >= 1; i--) if (fs.existsSync(`${file}.${i}`)) fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  fs.renameSync(file, `${file}.1`);
}

/** The record as one line for the journal. */
export function auditLine(r: AuditRecord): string {
  const what = [r.gateway && `gateway ${r.gateway}`, r.release && `release ${r.release.slice(0, 12)}`, r.commit !== undefined && `commit ${r.commit ? r.commit.slice(0, 12) + (r.dirty ? ' (dirty)' : '') : 'none'}`, r.signer !== undefined && (r.signer ? `signed by ${r.signer}` : 'unsigned')].filter(Boolean);
  return `${r.command} ${r.outcome}${r.error ? ` (${r.error})` : ''}: ${what.join(', ')}; by ${r.user}${r.actor ? ` for ${r.actor}` : ''}; ${r.durationMs} ms`;
}

/**
 * Writes an audit record: appended to <root>/var/log/s2sgw/audit.log (0640, rotated by size) and sent to the journal
 * when this host has one (journald's socket, else a syslog /dev/log; the lab VM has neither: skipped). Never throws:
 * the audit trail must not turn a done apply into a failed one; a problem is returned for the caller to print.
 */
export function writeAudit(root: (p: string) => string, rec: Omit<AuditRecord, 'time' | 'host'>, sinks: AuditSinks = {}): string | undefined {
  const r: AuditRecord = { time: new Date().toISOString(), host: os.hostname(), ...rec } as AuditRecord;
  const line = JSON.stringify(r) + '\n';
  let problem: string | undefined;
  const file = root(AUDIT_LOG);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    rotate(file, Buffer.byteLength(line), sinks.maxBytes ?? AUDIT_MAX_BYTES);
    fs.appendFileSync(file, line, { mode: 0o640 });
  } catch (e) {
    problem = `cannot write the audit log ${file}: ${(e as Error).message}`;
  }
  const logger = which('logger');
  const journal = sinks.journalSocket ?? '/run/systemd/journal/socket';
  const devLog = sinks.devLog ?? '/dev/log';
  const text = auditLine(r);
  if (!logger) return problem;
  try {
    if (fs.existsSync(journal) && !sinks.devLog) {
      const fields = { MESSAGE: text, SYSLOG_IDENTIFIER: 's2sgw', PRIORITY: r.outcome === 'ok' ? '5' : '4', S2SGW_COMMAND: r.command, S2SGW_OUTCOME: r.outcome, S2SGW_USER: r.user, S2SGW_ACTOR: r.actor, S2SGW_GATEWAY: r.gateway, S2SGW_RELEASE: r.release ?? undefined, S2SGW_COMMIT: r.commit ?? undefined, S2SGW_SIGNER: r.signer ?? undefined, S2SGW_DURATION_MS: String(r.durationMs) };
      const input = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
      spawnSync(logger, ['--journald'], { input, env: childEnv(), timeout: 5000 });
    } else if (fs.existsSync(devLog)) {
      spawnSync(logger, ['-u', devLog, '-t', 's2sgw', '-p', r.outcome === 'ok' ? 'user.notice' : 'user.warning', '--', text], { env: childEnv(), timeout: 5000 });
    }
  } catch {
    /* no journal reachable: the file above is the record */
  }
  return problem;
}

/**
 * Runs confirm or rollback and writes its audit record: the release it confirmed or went back to, that release's
 * gateway, commit and signer, the outcome and the time it took.
 */
export async function auditCommand(command: 'confirm' | 'rollback' | 'confirm-timeout', runner: { host: (p: string) => string }, who: Pick<AuditRecord, 'user' | 'actor'>, fn: () => Promise<Outcome>, warn: (s: string) => void): Promise<Outcome> {
  const t0 = Date.now();
  const out = await fn();
  const problem = writeAudit((p) => runner.host(p), { command, ...who, ...releaseFacts(layout(runner), out.release), ...outcomeOf(out), durationMs: Date.now() - t0 });
  if (problem) warn(`warning: ${problem}`);
  return out;
}
