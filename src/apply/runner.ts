// The one way apply touches a host: every command, path and injected fault goes through a Runner, which logs what it ran.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, RunResult } from '../util/exec';

/** A test hook: at a named step, make the tool fail, kill this process with SIGKILL, pause, or report a full disk. */
export interface Fault {
  kind: 'fail' | 'kill' | 'disk-full' | 'pause';
  /** A step name (`switch`, `reload-nftables`, `stage`, ...). */
  step: string;
  /** For pause: milliseconds. */
  ms?: number;
}

/** Parses `kill@reload-frr,fail@reload-nftables,pause@switch:2000` (the S2SGW_FAULTS variable). */
export function parseFaults(spec: string | undefined): Fault[] {
  if (!spec) return [];
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(fail|kill|disk-full|pause)@([a-z0-9-]+)(?::(\d+))?$/.exec(s);
      if (!m) throw new Error(`S2SGW_FAULTS: cannot parse ${JSON.stringify(s)} (expected KIND@STEP, KIND one of fail, kill, disk-full, pause)`);
      return { kind: m[1] as Fault['kind'], step: m[2], ...(m[3] ? { ms: Number(m[3]) } : {}) };
    });
}

export interface RunnerOptions {
  /** The host's file system root; '/' on a gateway, a temp folder in tests. */
  root?: string;
  /** Run every command inside this network namespace. */
  netns?: string;
  /** Run every command through this prefix, e.g. ['ssh', 'root@lab-gw'] to drive a whole VM host. */
  via?: string[];
  /** charon's VICI socket, as swanctl's --uri. */
  vici?: string;
  /** FRR pathspace (vtysh -N, daemons started with -N). */
  frrPathspace?: string;
  /** Steps this host cannot run (e.g. `links`, `vrf` on a kernel without VRF devices); each skip is logged. */
  skip?: string[];
  faults?: Fault[];
  timeoutMs?: number;
}

export interface LogEntry {
  step: string;
  argv: string[];
  /** stdin given to the command (never a secret: secrets reach daemons only through files). */
  input?: string;
  code: number;
  ms: number;
}

export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    /** The tool's own output, verbatim. */
    readonly tool?: string,
    /** Tenant (and YAML place) the failure maps to, when known. */
    readonly where?: string,
  ) {
    super(message);
  }
}

export const DEFAULT_VICI = 'unix:///var/run/charon.vici';

export class Runner {
  readonly root: string;
  readonly netns?: string;
  readonly via?: string[];
  readonly vici: string;
  readonly frrPathspace?: string;
  readonly skip: Set<string>;
  readonly faults: Fault[];
  readonly timeoutMs: number;
  /** Every command run, in order. Tests assert on it; it is also appended to <root>/var/log/s2sgw/commands.log. */
  readonly log: LogEntry[] = [];
  /** Wall time of each journaled step, in order (bench and status figures). */
  readonly timings: Array<{ step: string; ms: number }> = [];
  /** Set while a step runs, so commands are logged under it. */
  step = '-';
  /** --dry-run: commands are logged and echoed, never run; they "succeed" with empty output. */
  dryRun = false;
  echo?: (line: string) => void;
  /** --verbose: told of every command once it ran (step, argv, exit code, time; never its input). */
  onCommand?: (e: LogEntry) => void;

  constructor(opts: RunnerOptions = {}) {
    this.root = path.resolve(opts.root ?? '/');
    this.netns = opts.netns;
    this.via = opts.via;
    this.vici = opts.vici ?? DEFAULT_VICI;
    this.frrPathspace = opts.frrPathspace;
    this.skip = new Set(opts.skip ?? []);
    this.faults = [...(opts.faults ?? [])];
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /** The options that recreate this runner (saved with a pending confirm, so the timer acts on the same host). */
  options(): RunnerOptions {
    return { root: this.root, netns: this.netns, via: this.via, vici: this.vici, frrPathspace: this.frrPathspace, skip: [...this.skip], timeoutMs: this.timeoutMs };
  }

  /** A host path under --root: host('/etc/frr/frr.conf'). */
  host(p: string): string {
    return path.join(this.root, p);
  }

  skipped(what: string): boolean {
    return this.skip.has(what);
  }

  /** Runs a host command (in the namespace / through the prefix), logs it, and returns its result. */
  async run(program: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const t0 = Date.now();
    const argv = [program, ...args];
    let r: RunResult;
    if (this.dryRun) {
      this.echo?.(`    ${argv.join(' ')}${opts.input !== undefined ? ` <<< ${opts.input.split('\n').filter(Boolean).length} line(s): ${opts.input.split('\n').filter(Boolean).join('; ')}` : ''}`);
      r = { code: 0, stdout: '', stderr: '' };
    } else if (this.fire('fail', this.step)) {
      r = { code: 1, stdout: '', stderr: `injected fault: ${program} failed at step ${this.step}` };
    } else if (this.via?.length) {
      r = await run(this.via[0], [...this.via.slice(1), ...(this.netns ? ['ip', 'netns', 'exec', this.netns] : []), ...argv], { input: opts.input, timeoutMs: opts.timeoutMs ?? this.timeoutMs });
    } else {
      r = await run(program, args, { netns: this.netns, input: opts.input, timeoutMs: opts.timeoutMs ?? this.timeoutMs });
    }
    const entry: LogEntry = { step: this.step, argv, ...(opts.input !== undefined ? { input: opts.input } : {}), code: r.code, ms: Date.now() - t0 };
    this.log.push(entry);
    this.onCommand?.(entry);
    if (!this.dryRun) this.appendLog(entry);
    return r;
  }

  /**
   * A read-only question to the host (`ip link show`, `vtysh show`): run for real even by a dry run, whose refusals
   * must be the real apply's; never failed by an injected fault. Logged like a command.
   */
  async look(program: string, args: string[], opts: { input?: string } = {}): Promise<RunResult> {
    const t0 = Date.now();
    const r = this.via?.length
      ? await run(this.via[0], [...this.via.slice(1), ...(this.netns ? ['ip', 'netns', 'exec', this.netns] : []), program, ...args], { input: opts.input, timeoutMs: this.timeoutMs })
      : await run(program, args, { netns: this.netns, input: opts.input, timeoutMs: this.timeoutMs });
    const entry: LogEntry = { step: this.step, argv: [program, ...args], ...(opts.input !== undefined ? { input: opts.input } : {}), code: r.code, ms: Date.now() - t0 };
    this.log.push(entry);
    this.onCommand?.(entry);
    // A dry run writes nothing under the root, not even the command log.
    if (!this.dryRun) this.appendLog(entry);
    return r;
  }

  /** Like run, but a non-zero exit (other than the tolerated stderr patterns) is a StepError carrying the tool's message. */
  async must(program: string, args: string[], opts: { input?: string; tolerate?: RegExp } = {}): Promise<RunResult> {
    const r = await this.run(program, args, opts);
    if (r.code !== 0 && !(opts.tolerate && opts.tolerate.test(r.stderr + r.stdout))) {
      const msg = (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).split('\n').slice(0, 20).join('\n');
      throw new StepError(this.step, `${program} ${args.join(' ')} exited ${r.code}`, msg);
    }
    return r;
  }

  /**
   * A call that is not a program (a VICI request to charon): logged like a command (argv `vici OP NAME`),
   * echoed and skipped by a dry run, and failed by an injected `fail@STEP` like a tool would be.
   * Resolves undefined in a dry run.
   */
  async call<T>(argv: string[], fn: () => Promise<T>): Promise<T | undefined> {
    const t0 = Date.now();
    if (this.dryRun) {
      this.echo?.(`    ${argv.join(' ')}`);
      this.log.push({ step: this.step, argv, code: 0, ms: 0 });
      this.onCommand?.({ step: this.step, argv, code: 0, ms: 0 });
      return undefined;
    }
    let code = 0;
    try {
      if (this.fire('fail', this.step)) throw new StepError(this.step, `injected fault: ${argv.join(' ')} failed at step ${this.step}`);
      return await fn();
    } catch (e) {
      code = 1;
      throw e;
    } finally {
      const entry: LogEntry = { step: this.step, argv, code, ms: Date.now() - t0 };
      this.log.push(entry);
      this.onCommand?.(entry);
      this.appendLog(entry);
    }
  }

  /** Fault hook between "step begun" and "step done": kill or pause here. */
  async point(step: string): Promise<void> {
    if (this.fire('kill', step)) process.kill(process.pid, 'SIGKILL');
    const pause = this.faults.find((f) => f.kind === 'pause' && f.step === step);
    if (pause && this.fire('pause', step)) await new Promise((r) => setTimeout(r, pause.ms ?? 1000));
    // Steps without a command (switch, commit) fail here; steps with commands fail in run() with the tool's exit.
    if (this.fire('fail', step)) throw new StepError(step, `injected fault at step ${step}`);
  }

  /** A fault fires once: the rollback that follows runs the same steps and must not meet it again. */
  private fire(kind: Fault['kind'], step: string): boolean {
    const i = this.faults.findIndex((f) => f.kind === kind && f.step === step);
    if (i < 0) return false;
    this.faults.splice(i, 1);
    return true;
  }

  /** Fault hook for writes under the release folder: throws ENOSPC as the kernel would. */
  diskFull(step: string): void {
    if (this.fire('disk-full', step)) {
      const e = new Error(`ENOSPC: no space left on device, write (injected at ${step})`) as NodeJS.ErrnoException;
      e.code = 'ENOSPC';
      throw e;
    }
  }

  private appendLog(e: LogEntry): void {
    try {
      const file = this.host('/var/log/s2sgw/commands.log');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.appendFileSync(file, JSON.stringify({ t: new Date().toISOString(), pid: process.pid, ...e, input: e.input === undefined ? undefined : `${e.input.length} bytes` }) + '\n');
    } catch {
      /* the log is for people; a full disk must not turn into a failed reload */
    }
  }
}
