// A small VICI client over charon's unix socket: one command at a time, streamed commands with their events, a timeout on every call.
import * as net from 'node:net';
import { decode, decodePacket, SegmentReader } from './decode';
import { encode, encodePacket } from './encode';
import { Element, Packet, PacketType, PACKET_NAMES, ViciInput, ViciProtocolError, ViciSection, ViciValue } from './protocol';

export class ViciError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** charon answered `success = no`; `errmsg` is charon's reason, `events` what a streamed command sent before failing. */
export class ViciCommandError extends ViciError {
  constructor(
    readonly command: string,
    readonly errmsg: string,
    readonly response: ViciSection,
    readonly events: ViciSection[] = [],
  ) {
    super(`vici ${command} failed: ${errmsg || '(no errmsg)'}`);
  }
}

/** charon has no handler for the command (CMD_UNKNOWN). */
export class ViciUnknownCommandError extends ViciError {
  constructor(readonly command: string) {
    super(`vici: charon does not know the command ${JSON.stringify(command)}`);
  }
}

/** charon has no such event source (EVENT_UNKNOWN). */
export class ViciUnknownEventError extends ViciError {
  constructor(readonly event: string) {
    super(`vici: charon does not know the event ${JSON.stringify(event)}`);
  }
}

/** A call outlived its deadline. The connection is closed then: a late answer would be taken for the next call's. */
export class ViciTimeoutError extends ViciError {
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`vici ${operation}: no answer within ${timeoutMs} ms`);
  }
}

/** The connection is gone (closed, reset, timed out or desynchronised); `cause` says why. */
export class ViciClosedError extends ViciError {
  constructor(
    message: string,
    readonly cause?: Error,
  ) {
    super(message);
  }
}

export interface ConnectOptions {
  /** Deadline for connecting, and the default deadline of every call. Default 10 s. */
  timeoutMs?: number;
  /** Retry a socket that is not there or not listening yet until the deadline (default); false: one try. */
  retry?: boolean;
}

export interface CallOptions {
  /** Deadline of this call, counted from when it gets the connection (calls run one at a time). */
  timeoutMs?: number;
}

export interface StreamResult {
  response: ViciSection;
  /** The streamed events' messages, in the order charon sent them. */
  events: ViciSection[];
}

export interface SharedSecret {
  /** Unique identifier; swanctl uses the secrets section name (e.g. ike-IfCe1). unload-shared needs it. */
  id?: string;
  /** IKE, EAP, XAUTH, NTLM, PPK. */
  type: string;
  data: ViciValue;
  owners: string[];
}

export interface TerminateOptions {
  child?: string;
  ike?: string;
  childId?: number;
  ikeId?: number;
  /** charon's own timeout in ms (0 waits indefinitely, -1 returns at once). */
  timeout?: number;
  /** Delete the IKE_SA without waiting for the peer's answer (with timeout: after it). */
  force?: boolean;
  loglevel?: number;
}

export interface InitiateOptions {
  child?: string;
  ike?: string;
  timeout?: number;
  initLimits?: boolean;
  loglevel?: number;
}

export interface NamedSection {
  name: string;
  section: ViciSection;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** getSharedOf searches get-shared's response for at most this many names (each a pass over it), and decodes it for more. */
const GET_SHARED_SEARCHED = 20;
/** How get-shared's response starts: the list `keys`. */
const KEYS_LIST = Buffer.from([Element.LIST_START, 4, ...Buffer.from('keys')]);
/** How get-conns' response starts: the list `conns`. */
const CONNS_LIST = Buffer.from([Element.LIST_START, 5, ...Buffer.from('conns')]);
const noop = (): void => undefined;

/** The one key of a list-conn / list-sa event: its connection name and contents. */
function named(events: ViciSection[]): NamedSection[] {
  const out: NamedSection[] = [];
  for (const e of events) for (const [name, section] of Object.entries(e)) if (typeof section === 'object' && !Array.isArray(section) && !Buffer.isBuffer(section)) out.push({ name, section: section as ViciSection });
  return out;
}

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

export class ViciClient {
  private readonly reader = new SegmentReader();
  private inbox: Packet[] = [];
  private waiter: { resolve: (p: Packet) => void; reject: (e: Error) => void } | undefined;
  private dead: ViciClosedError | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly closed: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    private readonly defaultTimeoutMs: number,
  ) {
    this.closed = new Promise((r) => socket.once('close', () => r()));
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const seg of this.reader.push(chunk)) this.deliver(decodePacket(seg));
      } catch (e) {
        this.fail(new ViciClosedError(`vici: malformed data from charon: ${(e as Error).message}`, e as Error));
      }
    });
    socket.on('error', (e) => this.fail(new ViciClosedError(`vici socket error: ${e.message}`, e)));
    socket.on('close', () => this.fail(new ViciClosedError('vici: connection closed by charon')));
  }

  /**
   * Connects to charon's VICI unix socket (e.g. /var/run/charon.vici; a `unix://` prefix is accepted).
   * A socket that is not there yet or not listening yet (charon binds, then listens) is retried until the timeout.
   */
  static async connect(socketPath: string, opts: ConnectOptions = {}): Promise<ViciClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const p = socketPath.replace(/^unix:\/\//, '');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await ViciClient.connectOnce(p, Math.max(1, deadline - Date.now()), timeoutMs);
      } catch (e) {
        const code = ((e as ViciClosedError).cause as NodeJS.ErrnoException | undefined)?.code;
        if ((code !== 'ECONNREFUSED' && code !== 'ENOENT') || opts.retry === false || Date.now() + 20 >= deadline) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  private static connectOnce(p: string, waitMs: number, timeoutMs: number): Promise<ViciClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path: p });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ViciTimeoutError(`connect ${p}`, timeoutMs));
      }, waitMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new ViciClosedError(`vici: cannot connect to ${p}: ${e.message}`, e));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ViciClient(socket, timeoutMs));
      });
    });
  }

  /** Closes the connection at once; calls still queued or running reject with ViciClosedError. */
  async close(): Promise<void> {
    this.fail(new ViciClosedError('vici: connection closed by the client'));
    await this.closed;
  }

  /** Settles when the socket has closed (charon ended it, or close()): a pool opens another. */
  get whenClosed(): Promise<void> {
    return this.closed;
  }

  /** Whether the connection can still carry calls. */
  get isOpen(): boolean {
    return !this.dead;
  }

  // ---- the packet layer ----

  private deliver(p: Packet): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(p);
    } else {
      this.inbox.push(p);
    }
  }

  private fail(e: ViciClosedError): void {
    if (this.dead) return;
    this.dead = e;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  private recv(): Promise<Packet> {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift()!);
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private send(p: Packet): void {
    if (this.dead) throw this.dead;
    this.socket.write(encodePacket(p));
  }

  /** A packet that cannot belong to the current exchange: the stream is out of step, so it is closed. */
  private desync(p: Packet, during: string): never {
    const e = new ViciClosedError(`vici: unexpected ${PACKET_NAMES[p.type]} packet during ${during}`, new ViciProtocolError('out of step'));
    this.fail(e);
    throw e;
  }

  /** Runs fn alone on the connection, with a deadline; a missed deadline closes the connection. */
  private exclusive<T>(label: string, opts: CallOptions | undefined, fn: () => Promise<T>): Promise<T> {
    const ms = opts?.timeoutMs ?? this.defaultTimeoutMs;
    const go = async (): Promise<T> => {
      if (this.dead) throw new ViciClosedError(`vici ${label}: ${this.dead.message}`, this.dead);
      // Events of an earlier stream that arrived after its unregistration are harmless; anything else is not.
      const stray = this.inbox.find((p) => p.type !== PacketType.EVENT);
      if (stray) this.desync(stray, `the start of ${label}`);
      this.inbox = [];
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const e = new ViciTimeoutError(label, ms);
          this.fail(new ViciClosedError(e.message, e));
          reject(e);
        }, ms);
      });
      try {
        return await Promise.race([fn(), deadline]);
      } finally {
        clearTimeout(timer);
      }
    };
    const result = this.chain.then(go, go);
    this.chain = result.then(noop, noop);
    return result;
  }

  /** Sends one command and waits for its response; events named `event` on the way are passed to onEvent. */
  private async command(cmd: string, message: Buffer, event?: string, onEvent?: (m: ViciSection) => void): Promise<ViciSection> {
    return decode(await this.response(cmd, message, event, onEvent));
  }

  /** command() with the response's message undecoded (getSharedOf searches it first). */
  private async response(cmd: string, message: Buffer, event?: string, onEvent?: (m: ViciSection) => void): Promise<Buffer> {
    this.send({ type: PacketType.CMD_REQUEST, name: cmd, message });
    for (;;) {
      const p = await this.recv();
      switch (p.type) {
        case PacketType.CMD_RESPONSE:
          return p.message ?? Buffer.alloc(0);
        case PacketType.CMD_UNKNOWN:
          throw new ViciUnknownCommandError(cmd);
        case PacketType.EVENT:
          if (event !== undefined && p.name === event) onEvent?.(decode(p.message ?? Buffer.alloc(0)));
          break;
        default:
          this.desync(p, `command ${cmd}`);
      }
    }
  }

  private async eventRegistration(type: typeof PacketType.EVENT_REGISTER | typeof PacketType.EVENT_UNREGISTER, event: string): Promise<void> {
    this.send({ type, name: event });
    for (;;) {
      const p = await this.recv();
      if (p.type === PacketType.EVENT_CONFIRM) return;
      if (p.type === PacketType.EVENT_UNKNOWN) throw new ViciUnknownEventError(event);
      if (p.type !== PacketType.EVENT) this.desync(p, `${PACKET_NAMES[type]} ${event}`);
    }
  }

  private static checked(cmd: string, res: ViciSection, events: ViciSection[] = []): ViciSection {
    if (res.success === 'no') throw new ViciCommandError(cmd, typeof res.errmsg === 'string' ? res.errmsg : '', res, events);
    return res;
  }

  // ---- generic calls ----

  /**
   * Sends a command and returns its response. A response with `success = no` throws ViciCommandError
   * carrying charon's errmsg; an unknown command throws ViciUnknownCommandError.
   */
  request(cmd: string, message: ViciInput = {}, opts?: CallOptions): Promise<ViciSection> {
    let bytes: Buffer;
    try {
      bytes = encode(message); // an unencodable message fails here, before the connection is touched
    } catch (e) {
      return Promise.reject(e);
    }
    return this.exclusive(cmd, opts, async () => ViciClient.checked(cmd, await this.command(cmd, bytes)));
  }

  /**
   * A streamed command: registers for `event`, sends the command, collects the events until the
   * response, unregisters. `success = no` throws ViciCommandError with the events collected so far.
   */
  streamed(cmd: string, event: string, message: ViciInput = {}, opts?: CallOptions): Promise<StreamResult> {
    let bytes: Buffer;
    try {
      bytes = encode(message);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.exclusive(`${cmd} (${event} events)`, opts, async () => {
      const events: ViciSection[] = [];
      await this.eventRegistration(PacketType.EVENT_REGISTER, event);
      let res: ViciSection;
      try {
        res = await this.command(cmd, bytes, event, (m) => events.push(m));
      } finally {
        if (!this.dead) await this.eventRegistration(PacketType.EVENT_UNREGISTER, event);
      }
      return { response: ViciClient.checked(cmd, res, events), events };
    });
  }

  /**
   * Sends many commands back to back, at most `depth` unanswered at a time, and returns their responses in order
   * (charon answers a connection's requests in the order it received them). charon never waits for this process
   * between two requests, as it does for swanctl, which sends one and waits for its answer: at 30,000 load-conn
   * calls those round trips (each a wake-up of both processes) were a visible part of a first apply on a busy
   * machine. `requests` may be a generator: it is asked for the next request while charon works on the ones sent
   * (so parsing overlaps charon's loading); if it throws, the requests in flight are answered first, then that error
   * is thrown. A response with `success = no` does not stop the others (swanctl --load-all goes on past a failed
   * connection alike): it is returned as it came (`ViciClient.failure` tells). `timeoutMs` bounds the wait for each
   * response, not the whole exchange.
   */
  pipeline(requests: Iterable<{ cmd: string; message: ViciInput | Buffer }>, opts: CallOptions & { depth?: number } = {}): Promise<Array<{ cmd: string; response: ViciSection }>> {
    const depth = Math.max(1, opts.depth ?? 64);
    const stall = opts.timeoutMs ?? this.defaultTimeoutMs;
    const label = 'pipelined requests';
    return this.exclusive(label, { timeoutMs: 2 ** 31 - 1 }, async () => {
      const out: Array<{ cmd: string; response: ViciSection }> = [];
      const it = requests[Symbol.iterator]();
      const inFlight: string[] = [];
      let done = false;
      let failed: { e: unknown } | undefined;
      const fill = () => {
        while (!done && !failed && inFlight.length < depth) {
          try {
            const r = it.next();
            if (r.done) {
              done = true;
              break;
            }
            const bytes = Buffer.isBuffer(r.value.message) ? r.value.message : encode(r.value.message);
            this.send({ type: PacketType.CMD_REQUEST, name: r.value.cmd, message: bytes });
            inFlight.push(r.value.cmd);
          } catch (e) {
            failed = { e };
          }
        }
      };
      const next = () =>
        new Promise<Packet>((resolve, reject) => {
          const t = setTimeout(() => {
            const e = new ViciTimeoutError(`${label} (${inFlight[0]})`, stall);
            this.fail(new ViciClosedError(e.message, e));
            reject(e);
          }, stall);
          this.recv().then(
            (p) => (clearTimeout(t), resolve(p)),
            (e) => (clearTimeout(t), reject(e)),
          );
        });
      fill();
      while (inFlight.length) {
        const p = await next();
        if (p.type === PacketType.EVENT) continue;
        const cmd = inFlight.shift()!;
        if (p.type === PacketType.CMD_UNKNOWN) {
          const e = new ViciUnknownCommandError(cmd);
          // The requests still unanswered would be taken for answers of later calls: the stream is closed.
          this.fail(new ViciClosedError(e.message, e));
          throw e;
        }
        if (p.type !== PacketType.CMD_RESPONSE) this.desync(p, `pipelined ${cmd}`);
        out.push({ cmd, response: decode(p.message ?? Buffer.alloc(0)) });
        fill();
      }
      if (failed) throw failed.e;
      return out;
    });
  }

  /** A pipelined response's failure as ViciCommandError (`success = no`), or undefined. */
  static failure(cmd: string, res: ViciSection): ViciCommandError | undefined {
    return res.success === 'no' ? new ViciCommandError(cmd, typeof res.errmsg === 'string' ? res.errmsg : '', res, []) : undefined;
  }

  // ---- convenience ----

  /** daemon, version, sysname, release, machine. */
  async version(opts?: CallOptions): Promise<Record<string, string>> {
    return (await this.request('version', {}, opts)) as Record<string, string>;
  }

  /** Loads or replaces one connection; `section` is its swanctl.conf block translated to VICI (see swanctl-conf.ts). */
  async loadConn(name: string, section: ViciInput, opts?: CallOptions): Promise<void> {
    await this.request('load-conn', new Map([[name, section]]), opts);
  }

  async unloadConn(name: string, opts?: CallOptions): Promise<void> {
    await this.request('unload-conn', { name }, opts);
  }

  /** Names of the connections loaded over VICI. */
  async getConns(opts?: CallOptions): Promise<string[]> {
    return list((await this.request('get-conns', {}, opts)).conns);
  }

  /**
   * Which of `names` charon holds, by one get-conns exchange whose response is searched, not decoded: each name as a
   * whole list item (its type byte and 16-bit length, then the name, then the next item's or the list's end byte).
   * One walk of charon's connections (4-5 ms at 30,000, response 0.3 MB, searched in well under a millisecond) for
   * any number of names, where list-conns walks them once per name (2.5-6 ms each) and decoding the 30,000 names
   * cost a one-shot process 26-34 ms. A response not of get-conns' one-list form is decoded whole.
   */
  async heldOf(names: Iterable<string>, opts?: CallOptions): Promise<Set<string>> {
    const wanted = [...new Set(names)];
    const raw = await this.exclusive('get-conns', opts, () => this.response('get-conns', encode({})));
    if (raw.subarray(0, CONNS_LIST.length).equals(CONNS_LIST) && raw[raw.length - 1] === Element.LIST_END) {
      const out = new Set<string>();
      for (const n of wanted) {
        const b = Buffer.from(n, 'utf8');
        if (!b.length || b.length > 0xffff) continue;
        const item = Buffer.alloc(3 + b.length);
        item[0] = Element.LIST_ITEM;
        item.writeUInt16BE(b.length, 1);
        b.copy(item, 3);
        for (let i = raw.indexOf(item, CONNS_LIST.length); i >= 0; i = raw.indexOf(item, i + 1)) {
          const next = raw[i + item.length];
          if (next === Element.LIST_ITEM || next === Element.LIST_END) {
            out.add(n);
            break;
          }
        }
      }
      return out;
    }
    const held = new Set(list(ViciClient.checked('get-conns', decode(raw)).conns));
    return new Set(wanted.filter((n) => held.has(n)));
  }

  /** Every loaded connection as charon describes it (list-conn events), in charon's order. */
  async listConns(filter: { ike?: string } = {}, opts?: CallOptions): Promise<NamedSection[]> {
    return named((await this.streamed('list-conns', 'list-conn', { ike: filter.ike }, opts)).events);
  }

  /**
   * list-conns for each of `names` (its `ike` filter), in one exchange: one event registration, the requests sent back
   * to back, each one's list-conn events taken until its response (charon answers a connection's requests in order,
   * each request's events before its response), one unregistration. 3 round trips for any number of names, where
   * listConns makes 3 each; charon still looks through all its connections for each name (the filter is no index,
   * about 6 ms at 30,000), but sends back only the matches. The connections found, by name asked for.
   */
  listConnsEach(names: string[], opts?: CallOptions): Promise<Map<string, NamedSection[]>> {
    let requests: Buffer[];
    try {
      requests = names.map((n) => encode({ ike: n }));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.exclusive(`list-conns of ${names.length} names (list-conn events)`, opts, async () => {
      const out = new Map<string, NamedSection[]>();
      if (!names.length) return out;
      let refused: ViciCommandError | undefined;
      await this.eventRegistration(PacketType.EVENT_REGISTER, 'list-conn');
      try {
        for (const message of requests) this.send({ type: PacketType.CMD_REQUEST, name: 'list-conns', message });
        for (let i = 0; i < names.length; ) {
          const events: ViciSection[] = [];
          for (;;) {
            const p = await this.recv();
            if (p.type === PacketType.EVENT) {
              if (p.name === 'list-conn') events.push(decode(p.message ?? Buffer.alloc(0)));
              continue;
            }
            if (p.type === PacketType.CMD_UNKNOWN) {
              const e = new ViciUnknownCommandError('list-conns');
              // The requests still unanswered would be taken for answers of later calls: the stream is closed.
              this.fail(new ViciClosedError(e.message, e));
              throw e;
            }
            if (p.type !== PacketType.CMD_RESPONSE) this.desync(p, 'list-conns');
            // A refusal is thrown once every request is answered (the stream stays in step for the next call).
            refused ??= ViciClient.failure('list-conns', decode(p.message ?? Buffer.alloc(0)));
            break;
          }
          out.set(names[i++], named(events));
        }
        if (refused) throw refused;
      } finally {
        if (!this.dead) await this.eventRegistration(PacketType.EVENT_UNREGISTER, 'list-conn');
      }
      return out;
    });
  }

  /** Active IKE_SAs with their CHILD_SAs (list-sa events); `noblock` skips SAs that are busy. */
  async listSas(filter: { ike?: string; ikeId?: number; noblock?: boolean } = {}, opts?: CallOptions): Promise<NamedSection[]> {
    const msg = { ike: filter.ike, 'ike-id': filter.ikeId, noblock: filter.noblock ? 'yes' : undefined };
    return named((await this.streamed('list-sas', 'list-sa', msg, opts)).events);
  }

  async loadShared(s: SharedSecret, opts?: CallOptions): Promise<void> {
    await this.request('load-shared', { id: s.id, type: s.type, data: s.data, owners: s.owners }, opts);
  }

  async unloadShared(id: string, opts?: CallOptions): Promise<void> {
    await this.request('unload-shared', { id }, opts);
  }

  /** Identifiers of the shared secrets loaded over VICI with an id. */
  async getShared(opts?: CallOptions): Promise<string[]> {
    return list((await this.request('get-shared', {}, opts)).keys);
  }

  /**
   * The ids among getShared's of the form `TYPE-NAME` (TYPE one or more of a-z: ike, eap, xauth) for a NAME of `names`,
   * sorted. The same get-shared exchange (VICI has no query for one id, and load-shared of an id charon holds replaces
   * that secret silently), but for a few names the response is searched, not decoded: a list item `TYPE-NAME` ends
   * in `-NAME` followed by the next item's or the list's end byte, so where no name's bytes occur so (a tenant added
   * as usual) none is held. Otherwise, or for many names, or a response not of get-shared's one-list form, it is
   * decoded whole as getShared does. At 30,000 ids the search costs this process about 1 ms; the decoding and its
   * strings 26-34 ms in a one-shot process (charon's own part, building the list, about 10 ms, is paid either way).
   */
  async getSharedOf(names: Iterable<string>, opts?: CallOptions): Promise<string[]> {
    const wanted = [...new Set(names)].filter((n) => n.length);
    const raw = await this.exclusive('get-shared', opts, () => this.response('get-shared', encode({})));
    if (wanted.length <= GET_SHARED_SEARCHED && raw.subarray(0, KEYS_LIST.length).equals(KEYS_LIST) && raw[raw.length - 1] === Element.LIST_END) {
      const ends = (n: string): boolean => {
        const tail = Buffer.from(`-${n}`, 'utf8');
        for (let i = raw.indexOf(tail); i >= 0; i = raw.indexOf(tail, i + 1)) {
          const next = raw[i + tail.length];
          if (next === Element.LIST_ITEM || next === Element.LIST_END) return true;
        }
        return false;
      };
      if (!wanted.some(ends)) return [];
    }
    const set = new Set(wanted);
    const ids = list(ViciClient.checked('get-shared', decode(raw)).keys);
    return ids.filter((id) => set.has(/^[a-z]+-(.+)$/.exec(id)?.[1] ?? '')).sort();
  }

  /** Terminates SAs, streaming charon's control-log; `success = no` (e.g. nothing matched) throws ViciCommandError. */
  terminate(t: TerminateOptions, opts?: CallOptions): Promise<StreamResult> {
    const msg = { child: t.child, ike: t.ike, 'child-id': t.childId, 'ike-id': t.ikeId, timeout: t.timeout, force: t.force, loglevel: t.loglevel };
    return this.streamed('terminate', 'control-log', msg, opts);
  }

  /** Initiates a CHILD_SA (and its IKE_SA), streaming charon's control-log. */
  initiate(i: InitiateOptions, opts?: CallOptions): Promise<StreamResult> {
    const msg = { child: i.child, ike: i.ike, timeout: i.timeout, 'init-limits': i.initLimits, loglevel: i.loglevel };
    return this.streamed('initiate', 'control-log', msg, opts);
  }
}
