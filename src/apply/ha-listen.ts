// keepalived's notify listener (docs/ha.md, "The notify listener"): keepalived starts it once (vrrp_notify_fifo_script,
// the FIFO's name as the last argument) and writes each VRRP state change to the FIFO as `INSTANCE "NAME" STATE PRIO`.
// It does what the notify commands would do for the tenant's tunnels, without starting a program: charon over VICI
// (a unix socket connect per action, no swanctl), the blackhole routes through one resident `ip -force -batch -`.
// While it runs (its pid in LISTENER_PID), the notify commands only write the state. Under the lab's emulation each
// program start took seconds, most of the static site's loss when the active's trunk went down.
//
//   node ha-listen.js --vici URI --conf KEEPALIVED_CONF [--pid-file FILE] FIFO     (or `s2sgw ha-listen ...`, the executable)
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { spawn, ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ViciClient } from '../vici';
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

/** Runs fn with a fresh VICI connection (a socket connect, no program start); undefined when charon does not answer. */
async function withVici<T>(uri: string, fn: (c: ViciClient) => Promise<T>): Promise<T | undefined> {
  let c: ViciClient | undefined;
  try {
    c = await ViciClient.connect(uri, { timeoutMs: 1000 });
  } catch {
    return undefined;
  }
  try {
    return await fn(c);
  } finally {
    await c.close().catch(() => undefined);
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

  constructor(private readonly o: ListenOptions) {}

  /** The resident `ip -force -batch -`, started again if it went. */
  private batch(lines: string[]): void {
    if (!lines.length) return;
    if (!this.ip || this.ip.exitCode !== null || this.ip.killed || !this.ip.stdin?.writable) {
      this.ip = spawn('ip', ['-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
      this.ip.on('error', (e) => this.o.log(`ip -batch: ${e.message}`));
      this.ip.stdin!.on('error', () => undefined);
    }
    this.ip.stdin!.write(lines.map((l) => l + '\n').join(''));
  }

  private instance(name: string): Instance | undefined {
    try {
      const st = fs.statSync(this.o.conf);
      const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (stamp !== this.confStamp) {
        this.tunnels = tunnelsFromConf(fs.readFileSync(this.o.conf, 'utf8'));
        this.confStamp = stamp;
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
   * FAULT: terminate the tenant's IKE_SAs, every one at once (the sites get a delete and move), then, while charon
   * runs, blackhole the sites. Each IKE_SA by its id: a terminate by name ends a connection's IKE_SAs one after the
   * other, and in the lab's run of 03:58 UTC (two IKE_SAs per site after the start) the second's DELETE went out after
   * the blackhole, so the site kept that tunnel.
   */
  private async fault(t: Instance): Promise<void> {
    const ids = await withVici(this.o.vici, async (c) => {
      const out: number[] = [];
      for (const ike of t.ikes) for (const sa of await c.listSas({ ike }).catch(() => [])) out.push(Number((sa.section as Record<string, unknown>).uniqueid));
      return out.filter((n) => Number.isInteger(n) && n > 0);
    });
    const charon = ids !== undefined;
    // force: after 3 s without the site's answer charon destroys the IKE_SA anyway; else its DELETE is retransmitted
    // into the blackhole that follows and the IKE_SA stays DELETING for minutes (the lab's run of 03:45 UTC).
    await Promise.all((ids ?? []).map((ikeId) => withVici(this.o.vici, (c) => c.terminate({ ikeId, timeout: 3000, force: true }).catch(() => undefined))));
    // With charon gone, no blackhole: the kernel still carries what the sites send through its SAs (notifyCommand).
    if (charon) this.batch(this.routes(t, 'replace'));
    this.o.log(`${t.instance}: FAULT: terminated ${ids?.length ?? 0} IKE_SA(s) of ${t.ikes.join(' ') || 'none'}${charon ? ', blackholed the sites' : ', charon does not answer'}`);
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
    await withVici(this.o.vici, async (c) => {
      for (const ike of t.dial) {
        for (const sa of await c.listSas({ ike }).catch(() => [])) {
          const s = sa.section as Record<string, unknown>;
          if ((afterFault && (s.state === 'CREATED' || s.state === 'CONNECTING')) || s.state === 'DELETING') {
            await c.terminate({ ikeId: Number(s.uniqueid), force: true, timeout: -1 }).catch(() => undefined);
            continue;
          }
          // A DELETING IKE_SA still lists its CHILD_SAs as INSTALLED: only an established one's count.
          if (s.state !== 'ESTABLISHED' && s.state !== 'REKEYING' && s.state !== 'REKEYED') continue;
          for (const ch of Object.values((s['child-sas'] ?? {}) as Record<string, Record<string, unknown>>)) if (ch.state === 'INSTALLED') installed.add(String(ch.name));
        }
      }
    });
    const dial = t.children.filter((ch) => !installed.has(ch));
    for (const child of dial) {
      const p = withVici(this.o.vici, (c) => c.initiate({ child, timeout: 10_000 }).catch(() => undefined));
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

  /** Reads the FIFO until stopped, opening it again when keepalived closes it (a restart). */
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
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    this.o.log(`listening on ${this.o.fifo} (pid ${process.pid})`);
    for (;;) {
      const rl = readline.createInterface({ input: fs.createReadStream(this.o.fifo) });
      for await (const line of rl) void this.handle(line);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

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
  new Listener({ fifo, conf: values.conf!, vici: values.vici!, pidFile: values['pid-file']!, log }).run().catch((e) => {
    log((e as Error).message);
    process.exit(1);
  });
}

if (require.main === module) listenMain(process.argv.slice(2));
