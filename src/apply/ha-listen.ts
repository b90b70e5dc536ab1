// keepalived's notify listener (docs/ha.md, "The notify listener"): keepalived starts it once (vrrp_notify_fifo_script,
// the FIFO's name as the last argument) and writes each VRRP state change to the FIFO as `INSTANCE "NAME" STATE PRIO`.
// It does what the notify commands would do for the tenant's tunnels, without starting a program: charon over VICI
// (unix socket connects, no swanctl), the blackhole routes through one resident `ip -force -batch -`.
// While it runs (its pid in LISTENER_PID), the notify commands only write the state. Under the lab's emulation each
// program start took seconds, most of the static site's loss when the active's trunk went down.
//
//   node ha-listen.js --vici URI --conf KEEPALIVED_CONF [--pid-file FILE] FIFO     (or `s2sgw ha-listen ...`, the executable)
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { spawn, ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ViciClient, ViciClosedError, ViciCommandError } from '../vici';
import { LISTENER_PID, TUNNELS_MARK, Tunnels } from '../targets/keepalived/view';

export interface ListenOptions {
  fifo: string;
  /** keepalived.conf: the `# s2sgw-ha-tunnels` line of each instance says what to do (re-read when it changes). */
  conf: string;
  vici: string;
  pidFile: string;
  log: (line: string) => void;
}

type Instance = Tunnels & { instance: string };

/** The instances' tunnels from keepalived.conf's marker lines. Pure. */
export function tunnelsFromConf(text: string): Map<string, Instance> {
  const out = new Map<string, Instance>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(TUNNELS_MARK)) continue;
    try {
      const t = JSON.parse(line.slice(TUNNELS_MARK.length)) as Instance;
      if (typeof t.instance === 'string') out.set(t.instance, t);
    } catch {
      /* not ours */
    }
  }
  return out;
}

/** A line keepalived wrote: the instance and its new state, or undefined (other states, other lines). */
export function parseFifoLine(line: string): { instance: string; state: 'MASTER' | 'BACKUP' | 'FAULT' } | undefined {
  const m = /^INSTANCE "([^"]+)" (MASTER|BACKUP|FAULT)\b/.exec(line.trim());
  return m ? { instance: m[1], state: m[2] as 'MASTER' | 'BACKUP' | 'FAULT' } : undefined;
}

/**
 * VICI connections to charon kept open from the listener's start (docs/ha.md, "The notify listener"), so a FAULT
 * sends its terminates at once: in the lab's run of 06:34 UTC the FAULT's two fresh unix-socket connects took 1.6 s
 * on the emulated guest. A connection charon closes (charon restarted or gone) is opened again, every RETRY_MS while
 * charon does not answer; calls on one connection run one after the other (ViciClient queues them).
 */
export class ViciPool {
  private conns: ViciClient[] = [];
  private filling?: Promise<void>;
  private retry?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    readonly uri: string,
    private size: number,
  ) {}

  /** Opens the connections missing (at once, not waited for by the caller; tests await it). */
  fill(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.filling) return this.filling;
    this.filling = (async () => {
      this.conns = this.conns.filter((c) => c.isOpen);
      while (!this.stopped && this.conns.length < this.size) {
        const c = await ViciClient.connect(this.uri, { timeoutMs: CONNECT_MS }).catch(() => undefined);
        if (!c) break;
        if (this.stopped) {
          await c.close().catch(() => undefined);
          break;
        }
        this.conns.push(c);
        void c.whenClosed.then(() => {
          this.conns = this.conns.filter((x) => x !== c);
          this.later();
        });
      }
    })().finally(() => {
      this.filling = undefined;
      if (this.conns.length < this.size) this.later();
    });
    return this.filling;
  }

  private later(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.fill();
    }, RETRY_MS);
    this.retry.unref();
  }

  /** At least n connections from now on (a tenant with more connections than the pool has). */
  grow(n: number): void {
    if (n <= this.size) return;
    this.size = n;
    void this.fill();
  }

  /** The open connections (none: charon did not answer since; the caller connects afresh). */
  get open(): ViciClient[] {
    return this.conns.filter((c) => c.isOpen);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await Promise.all(this.conns.map((c) => c.close().catch(() => undefined)));
    this.conns = [];
  }
}

/**
 * Runs fn with one of the pool's connections, or (no pool, or none open) a fresh one closed after; undefined when
 * charon does not answer.
 */
async function withVici<T>(uri: string, fn: (c: ViciClient) => Promise<T>, pool?: ViciPool): Promise<T | undefined> {
  const held = pool?.open[0];
  if (held) return fn(held);
  let c: ViciClient | undefined;
  try {
    c = await ViciClient.connect(uri, { timeoutMs: CONNECT_MS });
  } catch {
    return undefined;
  }
  try {
    return await fn(c);
  } finally {
    await c.close().catch(() => undefined);
  }
}

/** How long a connect to charon may take (charon gone: the socket refuses at once, or is missing). */
const CONNECT_MS = 1000;
/** How often the pool tries again to connect while charon does not answer. */
const RETRY_MS = 1000;
/** charon's own timeout for the FAULT's terminates: after it, with force, charon destroys the IKE_SA without the site's answer. */
export const FAULT_TERMINATE_MS = 3000;
/**
 * The client's deadline for one call: charon's timeout and ample slack. A terminate answers within FAULT_TERMINATE_MS
 * on a host that is not starved; in the lab's run of 05:51 UTC (an emulated guest at load 7) charon logged the request
 * 3 s after it was sent and answered after its forced timeout, past a 5 s deadline. Past the deadline the blackhole
 * follows anyway, so a long one only delays the blackhole (harmless), a short one risks a DELETE into it.
 */
const CALL_MS = FAULT_TERMINATE_MS + 7000;

/** What a FAULT did, for the log and the tests. */
export interface FaultResult {
  /** Whether charon answered at all (then the sites are blackholed). */
  charon: boolean;
  /**
   * Each connection's terminate by name: `deleted` (the site answered the DELETE), `forced` (no answer within
   * FAULT_TERMINATE_MS: charon destroyed the IKE_SA), `none` (it had no IKE_SA), else the error.
   */
  byName: Record<string, string>;
  /** IKE_SAs (unique ids) still there after those, terminated by id. */
  byId: number[];
  /** ms until the connections were open (the log's; the lab's timelines): 0 with the pool's. */
  connectMs?: number;
  /** Whether the pool's connections carried it (no connect). */
  pooled?: boolean;
}

/**
 * A terminate as a plain request: without registering for charon's control-log first (and unregistering after),
 * which ViciClient.terminate does to collect it, two round trips fewer; nobody reads that log here.
 */
function terminate(c: ViciClient, t: { ike?: string; ikeId?: number; timeout: number; force: boolean }): Promise<unknown> {
  return c.request('terminate', { ike: t.ike, 'ike-id': t.ikeId, timeout: t.timeout, force: t.force }, { timeoutMs: CALL_MS });
}

/** A terminate's outcome for the log, from its error. */
function terminateOutcome(e: unknown): string {
  if (e instanceof ViciCommandError) {
    // charon's words (vici_control.c): a forced terminate that timed out still reports the failure.
    if (/no matching/i.test(e.errmsg)) return 'none';
    if (/terminating SA failed/i.test(e.errmsg)) return 'forced';
  }
  return (e as Error).message;
}

/**
 * FAULT's terminates (docs/ha.md, "The notify listener"), lean and at once: one VICI connection per connection name,
 * all opened together, each terminating its connection by name at once (no list first: in the lab's run of 04:09 UTC
 * the list-sas before the terminates cost 3 s on the emulated guest); when all have answered, one list-sas on the
 * first connection for what is left (a second IKE_SA of a connection, one begun meanwhile) and those by id, spread
 * over the same connections. Every terminate is forced after FAULT_TERMINATE_MS: charon then destroys an IKE_SA whose
 * site did not answer its DELETE, rather than keeping it DELETING and retransmitting.
 *
 * The caller adds the blackholes only after this returns, which is after charon answered every terminate: each DELETE
 * has then gone out and none is retransmitted later (forced), so no DELETE goes into the blackhole (the lab's run of
 * 03:58 UTC: a DELETE sent after the blackhole left the site with its tunnel). A client-side deadline (CALL_MS, charon
 * stuck) is the one exception: then the blackhole follows anyway.
 */
export async function terminateAll(vici: string, ikes: string[], pool?: ViciPool): Promise<FaultResult> {
  // Nothing to terminate: only whether charon answers (for the blackholes).
  if (!ikes.length) return { charon: !!(await withVici(vici, async () => true, pool)), byName: {}, byId: [] };
  const t0 = Date.now();
  // The pool's open connections (no connect: ViciPool), else fresh ones as before (charon just restarted, or no pool).
  const held = pool?.open ?? [];
  const conns = held.length ? held : (await Promise.all(ikes.map(() => ViciClient.connect(vici, { timeoutMs: CONNECT_MS }).catch(() => undefined)))).filter((c): c is ViciClient => !!c);
  const connectMs = Date.now() - t0;
  if (!conns.length) return { charon: false, byName: {}, byId: [] };
  try {
    const byName: Record<string, string> = Object.fromEntries(ikes.map((ike) => [ike, 'no answer'])); // the log's order
    let answered = false;
    await Promise.all(
      ikes.map((ike, k) =>
        terminate(conns[k % conns.length], { ike, timeout: FAULT_TERMINATE_MS, force: true })
          .then(() => (answered = true) && (byName[ike] = 'deleted'))
          .catch((e) => {
            if (!(e instanceof ViciClosedError)) answered = true;
            byName[ike] = terminateOutcome(e); // the list below sees what is left
          }),
      ),
    );
    // Held connections that charon closed before answering (it went, or restarted, since they were opened): as without a
    // pool, fresh connections say whether charon answers.
    if (held.length && !answered) return terminateAll(vici, ikes);
    const live = conns.filter((c) => c.isOpen);
    if (!live.length) return { charon: true, byName, byId: [], connectMs, ...(held.length ? { pooled: true } : {}) };
    const wanted = new Set(ikes);
    const left = (await live[0].listSas({}, { timeoutMs: CALL_MS }).catch(() => []))
      .filter((sa) => wanted.has(sa.name))
      .map((sa) => Number((sa.section as Record<string, unknown>).uniqueid))
      .filter((n) => Number.isInteger(n) && n > 0);
    // Calls on one connection run one after the other (ViciClient queues them): the ids are spread over the connections.
    await Promise.all(left.map((ikeId, k) => terminate(live[k % live.length], { ikeId, timeout: FAULT_TERMINATE_MS, force: true }).catch(() => undefined)));
    return { charon: true, byName, byId: left, connectMs, ...(held.length ? { pooled: true } : {}) };
  } finally {
    if (!held.length) await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  }
}

export class Listener {
  private ip?: ChildProcess;
  private chains = new Map<string, Promise<void>>();
  /** Each instance's last state handled. */
  private states = new Map<string, string>();
  private confStamp = '';
  private tunnels = new Map<string, Instance>();
  /** Dials in flight (not waited for by the next event of the instance); tests wait for them. */
  readonly dials = new Set<Promise<unknown>>();
  /** Open from the start (run), so a FAULT's terminates need no connect: one connection per connection name of the largest instance, at least 2. */
  readonly pool: ViciPool;

  constructor(private readonly o: ListenOptions) {
    this.pool = new ViciPool(o.vici, 2);
  }

  /** The pool as large as the largest instance's connection count (read again when keepalived.conf changes). */
  private sizePool(): void {
    for (const t of this.tunnels.values()) this.pool.grow(t.ikes.length);
  }

  /** The resident `ip -force -batch -`, started again if it went. */
  private batch(lines: string[]): void {
    if (!this.ip || this.ip.exitCode !== null || this.ip.killed || !this.ip.stdin?.writable) {
      this.ip = spawn('ip', ['-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
      this.ip.on('error', (e) => this.o.log(`ip -batch: ${e.message}`));
      this.ip.stdin!.on('error', () => undefined);
    }
    if (lines.length) this.ip.stdin!.write(lines.map((l) => l + '\n').join(''));
  }

  private instance(name: string): Instance | undefined {
    try {
      const st = fs.statSync(this.o.conf);
      const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (stamp !== this.confStamp) {
        this.tunnels = tunnelsFromConf(fs.readFileSync(this.o.conf, 'utf8'));
        this.confStamp = stamp;
        this.sizePool();
      }
    } catch (e) {
      this.o.log(`${this.o.conf}: ${(e as Error).message}`);
    }
    return this.tunnels.get(name);
  }

  private routes(t: Instance, verb: 'replace' | 'del'): string[] {
    return [...t.v4.map((a) => `route ${verb} blackhole ${a}`), ...t.v6.map((a) => `-6 route ${verb} blackhole ${a}`)];
  }

  /**
   * FAULT: terminate the tenant's IKE_SAs, every connection at once (the sites get a delete and move: terminateAll),
   * then, while charon runs, blackhole the sites, only after every terminate has answered (no DELETE after the
   * blackhole: terminateAll).
   */
  private async fault(t: Instance): Promise<void> {
    const t0 = Date.now();
    const r = await terminateAll(this.o.vici, t.ikes, this.pool);
    // With charon gone, no blackhole: the kernel still carries what the sites send through its SAs (notifyCommand).
    if (r.charon) this.batch(this.routes(t, 'replace'));
    const what = Object.entries(r.byName).map(([ike, how]) => `${ike} ${how}`).join(', ') || 'no connection';
    const ms = `${r.pooled ? 'on open connections, ' : r.connectMs !== undefined ? `connected after ${r.connectMs} ms, ` : ''}${Date.now() - t0} ms after the event`;
    this.o.log(`${t.instance}: FAULT: terminated ${what}${r.byId.length ? `; ${r.byId.length} IKE_SA(s) left, by id` : ''}${r.charon ? '; blackholed the sites' : '; charon does not answer'} (${ms})`);
  }

  /**
   * MASTER or BACKUP: the blackholes go, IKE_SAs still DELETING go (their DELETE went into the blackhole), each child
   * not INSTALLED under an established IKE_SA is dialed. After a FAULT (or as the first event) the
   * half-open IKE_SAs of the dialed connections go first (begun into the blackhole: notifyCommand); not between BACKUP
   * and MASTER, where they are the dials the previous event started (the lab's start: BACKUP, then MASTER 1.7 s later,
   * ended BACKUP's dials).
   */
  private async ready(t: Instance, state: string, afterFault: boolean): Promise<void> {
    this.batch(this.routes(t, 'del'));
    const installed = new Set<string>();
    // One list of every IKE_SA (not one per connection), the tenant's dialed ones picked here.
    const dialed = new Set(t.dial);
    await withVici(
      this.o.vici,
      async (c) => {
      for (const sa of await c.listSas({}, { timeoutMs: CALL_MS }).catch(() => [])) {
        if (!dialed.has(sa.name)) continue;
        const s = sa.section as Record<string, unknown>;
        if ((afterFault && (s.state === 'CREATED' || s.state === 'CONNECTING')) || s.state === 'DELETING') {
          await c.terminate({ ikeId: Number(s.uniqueid), force: true, timeout: -1 }, { timeoutMs: CALL_MS }).catch(() => undefined);
          continue;
        }
        // A DELETING IKE_SA still lists its CHILD_SAs as INSTALLED: only an established one's count.
        if (s.state !== 'ESTABLISHED' && s.state !== 'REKEYING' && s.state !== 'REKEYED') continue;
        for (const ch of Object.values((s['child-sas'] ?? {}) as Record<string, Record<string, unknown>>)) if (ch.state === 'INSTALLED') installed.add(String(ch.name));
      }
      },
      this.pool,
    );
    const dial = t.children.filter((ch) => !installed.has(ch));
    for (const child of dial) {
      const p = withVici(this.o.vici, (c) => c.initiate({ child, timeout: 10_000 }, { timeoutMs: 12_000 }).catch(() => undefined));
      this.dials.add(p);
      void p.finally(() => this.dials.delete(p));
    }
    this.o.log(`${t.instance}: ${state}: dialing ${dial.join(' ') || 'nothing'}`);
  }

  /** One line from keepalived; the events of one instance are handled in order, different instances at once. */
  handle(line: string): Promise<void> {
    const ev = parseFifoLine(line);
    if (!ev) return Promise.resolve();
    const prev = this.chains.get(ev.instance) ?? Promise.resolve();
    const next = prev.then(async () => {
      const before = this.states.get(ev.instance);
      this.states.set(ev.instance, ev.state);
      const t = this.instance(ev.instance);
      if (!t) return this.o.log(`${ev.instance}: ${ev.state}: no tunnels line in ${this.o.conf}`);
      await (ev.state === 'FAULT' ? this.fault(t) : this.ready(t, ev.state, before === undefined || before === 'FAULT'));
    }).catch((e) => this.o.log(`${ev.instance}: ${ev.state}: ${(e as Error).message}`));
    this.chains.set(ev.instance, next);
    return next;
  }

  /**
   * Reads the FIFO until stopped. Opened read-write and non-blocking, read through a net.Socket (epoll, no thread): a
   * plain open for reading blocks a libuv thread until a writer comes, and Node's exit waits for that thread, so on
   * SIGTERM (keepalived ending it) the listener hung for good (test/executable.test.ts found it). Holding a write end
   * also means no end of file when keepalived closes its side; should the stream end anyway, it is opened again.
   */
  async run(): Promise<void> {
    fs.mkdirSync(path.dirname(this.o.pidFile), { recursive: true });
    fs.writeFileSync(this.o.pidFile, `${process.pid}\n`);
    const stop = () => {
      try {
        if (fs.readFileSync(this.o.pidFile, 'utf8').trim() === String(process.pid)) fs.rmSync(this.o.pidFile);
      } catch {
        /* gone */
      }
      this.ip?.kill();
      void this.pool.stop();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // Ready before the first event: the VICI connections open (ViciPool; sized by keepalived.conf's instances) and the
    // resident `ip -batch` started, so a FAULT starts no program and opens no socket (docs/ha.md, "The notify listener").
    this.instance(''); // keepalived.conf read: the pool sized
    this.batch([]);
    void this.pool.fill().then(() => this.o.log(`${this.pool.open.length} VICI connection(s) open`));
    this.o.log(`listening on ${this.o.fifo} (pid ${process.pid})`);
    for (;;) {
      const fd = fs.openSync(this.o.fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      const input = new net.Socket({ fd, readable: true, writable: false });
      const rl = readline.createInterface({ input });
      for await (const line of rl) void this.handle(line);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The listener's nice value (root only; keepalived starts it as root). */
export const LISTENER_NICE = -10;

/** The listener as this process's whole job (`node ha-listen.js ...` or `s2sgw ha-listen ...`, the executable). */
export function listenMain(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { vici: { type: 'string', default: 'unix:///var/run/charon.vici' }, conf: { type: 'string', default: '/etc/keepalived/keepalived.conf' }, 'pid-file': { type: 'string', default: LISTENER_PID } },
    allowPositionals: true,
  });
  const fifo = positionals[positionals.length - 1];
  const log = (l: string) => process.stderr.write(`${new Date().toISOString()} s2sgw ha-listen: ${l}\n`);
  if (!fifo) {
    log('no FIFO given (keepalived passes it as the last argument)');
    process.exit(2);
  }
  // Ahead of ordinary processes when the CPU is contended (keepalived runs its VRRP process at a realtime priority): a
  // FAULT's terminates are what the static sites wait for. Not root (a test): as it is.
  try {
    os.setPriority(LISTENER_NICE);
  } catch {
    /* not permitted */
  }
  new Listener({ fifo, conf: values.conf!, vici: values.vici!, pidFile: values['pid-file']!, log }).run().catch((e) => {
    log((e as Error).message);
    process.exit(1);
  });
}

if (require.main === module) listenMain(process.argv.slice(2));
