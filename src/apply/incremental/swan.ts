// strongSwan's incremental reload: load, replace and unload exactly the changed connections and secrets over VICI, then end the SAs that must drop.
import { connectionsToVici, encode, loadConnMessage, loadSharedMessage, parseSwanctlConf, secretsToVici, ViciClient, ViciCommandError, ViciInputElement } from '../../vici';
import type { Release } from '../release';
import { readReleaseFile as read, SECRETS_CONF } from '../release';

export interface SwanPlan {
  /** Connections to load (new or changed), with their load-conn bodies. */
  load: Array<{ name: string; section: Map<string, ViciInputElement> }>;
  unload: string[];
  /** Shared secrets to load (new or changed). */
  loadShared: Array<{ id: string; type: string; data: Buffer; owners: string[] }>;
  unloadShared: string[];
  /** Connection files compared (the changed ones). */
  files: string[];
}

const CONF_DIR = 'swanctl/conf.d/';

function conns(text: string | undefined, file: string, swanctlDir: string): Map<string, { section: Map<string, ViciInputElement>; bytes: Buffer }> {
  const out = new Map<string, { section: Map<string, ViciInputElement>; bytes: Buffer }>();
  if (text === undefined) return out;
  for (const c of connectionsToVici(parseSwanctlConf(text, file), { swanctlDir })) out.set(c.name, { section: c.section, bytes: encode(loadConnMessage(c)) });
  return out;
}

/**
 * secrets.conf (written by apply at stage: `secrets {`, then one `  NAME {` ... `  }` block per secret) split into
 * its blocks by name, so that only changed blocks are parsed. Anything else: undefined (the caller parses it whole).
 */
function secretBlocks(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  if (lines[0] !== 'secrets {') return undefined;
  let name: string | undefined;
  let body: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (name === undefined) {
      if (l === '}' || l === '') continue;
      const m = /^ {2}(\S+) \{$/.exec(l);
      if (!m) return undefined;
      name = m[1];
      body = [l];
    } else {
      body.push(l);
      if (l === '  }') {
        out.set(name, body.join('\n'));
        name = undefined;
      }
    }
  }
  return name === undefined ? out : undefined;
}

const BLOCK_END = '\n  }\n';
const CHUNK = 4096;

/**
 * The parts of two secrets.conf texts that differ, widened to whole blocks, each as a secrets.conf of its own:
 * outside them the two files are the same bytes. A one-tenant change parses its few blocks, not 30,000.
 * (`\n  }\n` only ever ends a block: bodies are indented four spaces and the file's own end has none.)
 */
export function differingSecrets(a: string, b: string): [string, string] {
  const n = Math.min(a.length, b.length);
  // The common prefix and suffix, found by halving: the part after what is known equal compared whole (string
  // equality, in C++), up to a 4 KB stretch, then character by character. A character loop over 3.4 MB (30,000
  // secrets) took 35 ms in a one-shot apply, and 850 slices of 4 KB compared in turn 12-17 ms (cold code); about 20
  // comparisons of halves are the same bytes compared once or twice.
  let p = 0;
  for (let hi = n; hi - p > CHUNK; ) {
    const mid = p + ((hi - p) >> 1);
    if (a.slice(p, mid) === b.slice(p, mid)) p = mid;
    else hi = mid;
  }
  while (p < n && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  let q = 0;
  for (let hi = n - p; hi - q > CHUNK; ) {
    const mid = q + ((hi - q) >> 1);
    if (a.slice(a.length - mid, a.length - q) === b.slice(b.length - mid, b.length - q)) q = mid;
    else hi = mid;
  }
  while (q < n - p && a.charCodeAt(a.length - 1 - q) === b.charCodeAt(b.length - 1 - q)) q++;
  const lineStart = a.lastIndexOf('\n', p - 1) + 1;
  const before = lineStart >= 5 ? a.lastIndexOf(BLOCK_END, lineStart - 5) : -1;
  const start = before < 0 ? a.indexOf('\n') + 1 : before + BLOCK_END.length;
  // The first block end lying wholly in the common suffix: the same bytes, at the same distance from the end, in b.
  const after = a.indexOf(BLOCK_END, a.length - q);
  const fromEnd = after < 0 ? 0 : a.length - (after + BLOCK_END.length);
  const part = (t: string) => `secrets {\n${t.slice(start, Math.max(start, t.length - fromEnd))}`;
  return [part(a), part(b)];
}

function shared(block: string | undefined) {
  return block === undefined ? [] : secretsToVici(parseSwanctlConf(`secrets {\n${block}\n}\n`, SECRETS_CONF));
}

type Files = Release['manifest']['files'];
const changedOf = new WeakMap<Files, WeakMap<Files, string[]>>();

/**
 * The paths under swanctl/ whose sha256 differs between two manifests' files (or that one of them lacks), sorted:
 * reload-strongswan's test for a change and swanPlan's changed connection files, from one walk of each manifest
 * (20,000 paths at 10,000 tenants; it was walked up to four times). An entry whose line is the same in both
 * manifests is one object in both (deriveManifest): compared by identity first.
 */
export function changedSwanctl(fa: Files, fb: Files): string[] {
  let byB = changedOf.get(fa);
  if (!byB) changedOf.set(fa, (byB = new WeakMap()));
  let out = byB.get(fb);
  if (!out) {
    out = [];
    for (const p in fa) if (p.startsWith('swanctl/') && fa[p] !== fb[p] && fa[p]?.sha256 !== fb[p]?.sha256) out.push(p);
    for (const p in fb) if (p.startsWith('swanctl/') && !Object.hasOwn(fa, p)) out.push(p);
    out.sort();
    byB.set(fb, out);
  }
  return [...out];
}

/**
 * What charon must be told to go from release `from` to `to`: the connection files whose sha256 differs are
 * compared connection by connection (as the bytes of their load-conn messages, exactly what swanctl sends),
 * and the resolved secrets block by block.
 */
export function swanPlan(from: Release, to: Release, swanctlDir: string): SwanPlan {
  const files = changedSwanctl(from.manifest.files, to.manifest.files).filter((p) => p.startsWith(CONF_DIR));
  const plan: SwanPlan = { load: [], unload: [], loadShared: [], unloadShared: [], files };
  const before = new Map<string, Buffer>();
  const after = new Map<string, { section: Map<string, ViciInputElement>; bytes: Buffer }>();
  for (const f of files) {
    for (const [n, c] of conns(read(from, f), f, swanctlDir)) before.set(n, c.bytes);
    for (const [n, c] of conns(read(to, f), f, swanctlDir)) after.set(n, c);
  }
  for (const [n, c] of [...after].sort(([x], [y]) => (x < y ? -1 : 1))) if (!before.get(n)?.equals(c.bytes)) plan.load.push({ name: n, section: c.section });
  // A connection that moved to another changed file is in `after`: it is replaced, not unloaded.
  plan.unload = [...before.keys()].filter((n) => !after.has(n)).sort();
  const sa = read(from, SECRETS_CONF) ?? 'secrets {\n}\n';
  const sb = read(to, SECRETS_CONF) ?? 'secrets {\n}\n';
  if (sa !== sb) {
    const [da, db] = differingSecrets(sa, sb);
    const ba = secretBlocks(da);
    const bb = secretBlocks(db);
    if (ba && bb) {
      for (const [id, block] of [...bb].sort(([x], [y]) => (x < y ? -1 : 1))) if (ba.get(id) !== block) plan.loadShared.push(...shared(block));
      plan.unloadShared = [...ba.keys()].filter((id) => !bb.has(id)).sort();
    } else {
      const key = (s: { type: string; data: Buffer; owners: string[] }) => `${s.type} ${s.data.toString('base64')} ${s.owners.join(',')}`;
      const old = new Map(secretsToVici(parseSwanctlConf(sa, SECRETS_CONF)).map((s) => [s.id, key(s)]));
      const now = secretsToVici(parseSwanctlConf(sb, SECRETS_CONF));
      plan.loadShared = now.filter((s) => old.get(s.id) !== key(s));
      plan.unloadShared = [...old.keys()].filter((id) => !now.some((s) => s.id === id)).sort();
    }
  }
  return plan;
}

/** Runs a VICI call through the runner (logged as `vici --OP NAME`, in swanctl's words; dry-run aware; fault-injectable). */
export type Call = <T>(argv: string[], fn: () => Promise<T>) => Promise<T | undefined>;

/**
 * The suffix of a connection's alternate name. strongSwan 5.9.8 replaces a connection loaded again under the same
 * name break-before-make, so a `replace`-class change loads the new connection as NAME~2 (or back as NAME when
 * NAME~2 is live), brings it up, and only then ends the old one: a connection lives under one of two names.
 */
export const ALTERNATE = '~2';
/** The other of a connection's two names. */
export const alternateOf = (n: string): string => (n.endsWith(ALTERNATE) ? baseName(n) : n + ALTERNATE);
/** The bundle's name of a connection charon holds under either name (status, metrics and health speak of this one). */
export const baseName = (n: string): string => (n.endsWith(ALTERNATE) ? n.slice(0, -ALTERNATE.length) : n);

/**
 * The section as loaded under `name`: under the alternate name, keyingtries is one more (0, forever, stays). charon
 * reuses an established IKE_SA whose peer config equals the one initiated (names are not compared), so a change
 * outside the connection (a new PSK under the same identities) would otherwise bring up no new IKE_SA at all.
 */
export function sectionFor(name: string, section: Map<string, ViciInputElement>): Map<string, ViciInputElement> {
  if (!name.endsWith(ALTERNATE)) return section;
  const k = Number(section.get('keyingtries') ?? 1);
  const out = new Map(section);
  out.set('keyingtries', String(k === 0 ? 0 : k + 1));
  return out;
}

export interface MbbOptions {
  /** How long a new connection has to come up: initiated by us, or (responder-only) by the peer. */
  deadlineMs: number;
  /** How often charon is asked while waiting for the peer. */
  pollMs?: number;
  /** false: the old name is no longer loaded (nothing to unload at the end). */
  oldLoaded?: boolean;
  /**
   * A rekey-class change (new proposals or lifetimes): how long the peer has to bring the new connection up itself
   * before this end initiates it (0 or unset: initiate at once). See makeBeforeBreak: a new CHILD_SA the peer
   * initiates is lossless, one this end initiates loses what the peer sends on it before this end installs it.
   */
  peerFirstMs?: number;
  /** After the peer brought it up: how long to wait for its first packet on the new CHILD_SA (default 3 s). */
  settleMs?: number;
  /** Told who initiated the new IKE_SA (`peer`, or `us` after the peer's turn passed, or without one). */
  initiatedBy?: (by: 'peer' | 'us') => void;
  /** Told when the peer's turn starts (the new name is loaded held under `target`): the site's admin initiates now. */
  waiting?: (target: string) => void;
}

/** A make-before-break that did not complete: the old connection and its SAs were left running. */
export class MbbError extends Error {
  constructor(
    readonly connection: string,
    readonly stage: 'load' | 'initiate' | 'check' | 'switch',
    readonly detail: string,
  ) {
    super(`make-before-break of ${connection} failed at ${stage}: ${detail}; the old connection keeps running`);
  }
}

interface Ike {
  name: string;
  id: number;
  state: string;
  children: Array<{ name: string; state: string; reqid?: string; bytesIn?: number }>;
}

/** The CHILD_SAs of one list-sas IKE_SA section (the reqid when charon gives one, the bytes received). */
function childSas(section: Record<string, unknown>): Ike['children'] {
  const kids = (section['child-sas'] ?? {}) as Record<string, Record<string, unknown>>;
  return Object.values(kids).map((k) => ({
    name: String(k.name),
    state: String(k.state),
    ...(k.reqid !== undefined ? { reqid: String(k.reqid) } : {}),
    ...(k['bytes-in'] !== undefined ? { bytesIn: Number(k['bytes-in']) } : {}),
  }));
}

/** The IKE_SAs of one connection; `block`: wait for those a charon thread holds (one in IKE_AUTH is skipped otherwise). */
async function ikeSas(c: ViciClient, name: string, block = false): Promise<Ike[]> {
  const out: Ike[] = [];
  for (const s of await c.listSas({ ike: name, noblock: !block })) {
    if (s.name !== name) continue;
    out.push({ name, id: Number(s.section.uniqueid), state: String(s.section.state), children: childSas(s.section) });
  }
  return out;
}

/** The children a connection section declares, with whether charon starts them itself (start or trap) or waits for the peer. */
function childrenOf(section: Map<string, ViciInputElement>): Array<{ name: string; initiate: boolean; trap: boolean }> {
  const kids = section.get('children');
  const entries: Array<[string, unknown]> = kids instanceof Map ? [...kids] : kids && typeof kids === 'object' ? Object.entries(kids) : [];
  return entries.map(([name, v]) => {
    const get = (k: string) => (v instanceof Map ? v.get(k) : (v as Record<string, unknown>)?.[k]);
    const start = String(get('start_action') ?? 'none');
    return { name, initiate: /start|trap/.test(start), trap: /trap/.test(start) };
  });
}

/**
 * The section with each child's reqid pinned to the one its CHILD_SA of the old IKE_SA has (unless the section sets
 * one). charon allocates a new reqid for the new CHILD_SA otherwise (the old one's came from its trap policy), and
 * moves the shared policies to it when it is installed: the peer's packets still on the old SA (its kernel keeps
 * the cached flow until the old SA is deleted) then fail the inbound policy's template (XfrmInTmplMismatch: the
 * lab's hitless check lost 1 to 3 pings so). With the reqid kept, the policies stay and accept both SAs.
 */
export function withReqids(section: Map<string, ViciInputElement>, old: Array<{ name: string; state: string; reqid?: string }>): Map<string, ViciInputElement> {
  const kids = section.get('children');
  if (!kids || typeof kids !== 'object' || Array.isArray(kids) || Buffer.isBuffer(kids)) return section;
  const reqid = (n: string) => old.find((k) => k.name === n && k.state === 'INSTALLED' && k.reqid && k.reqid !== '0')?.reqid;
  const pin = (name: string, v: unknown): unknown => {
    const r = reqid(name);
    if (!r) return v;
    if (v instanceof Map) return v.has('reqid') ? v : new Map([...v, ['reqid', r]]);
    if (v && typeof v === 'object' && !Array.isArray(v)) return 'reqid' in (v as object) ? v : { ...(v as object), reqid: r };
    return v;
  };
  const out = new Map(section);
  if (kids instanceof Map) out.set('children', new Map([...kids].map(([n, v]) => [n, pin(n, v)])) as ViciInputElement);
  else out.set('children', Object.fromEntries(Object.entries(kids).map(([n, v]) => [n, pin(n, v)])) as ViciInputElement);
  return out;
}

/**
 * Ends an IKE_SA by its unique id (force: no wait for the peer's DELETE response). charon answers `terminating SA
 * failed` when it could not finish within the timeout (the lab saw it under a load average of 19): then it is asked
 * once more without waiting (timeout -1), and charon ends the SA on its own. Nothing matching: nothing to end.
 */
async function endIke(c: ViciClient, call: Call, id: number): Promise<void> {
  const tolerate = (e: unknown) => {
    if (!(e instanceof ViciCommandError && /no matching|not found/i.test(e.errmsg))) throw e;
  };
  try {
    await call(['vici', '--terminate', '--ike-id', String(id), '--force'], () => c.terminate({ ikeId: id, force: true, timeout: 10_000 }, { timeoutMs: 20_000 }));
  } catch (e) {
    if (!(e instanceof ViciCommandError) || /no matching|not found/i.test(e.errmsg)) return tolerate(e);
    await call(['vici', '--terminate', '--ike-id', String(id), '--force', '--timeout', '-1'], () => c.terminate({ ikeId: id, force: true, timeout: -1 }, { timeoutMs: 20_000 })).catch(tolerate);
  }
}

/**
 * The policy priority of a held child (below). charon's automatic priority of an installed CHILD_SA's policy is
 * 400000 less 512 for each prefix bit of its selectors, less 1 (10.1.0.0/16 to 192.168.0.0/29: 376959); a trap
 * policy's is the same without the 1 (0.0.0.0/0 both ways: 400000). 399999 is thus after the old CHILD_SA's policies on
 * every selector narrower than 0.0.0.0/0 both ways, and still before the trap policies on 0.0.0.0/0.
 */
export const HELD_PRIORITY = '399999';

/**
 * The section as loaded while the peer brings a rekey-class change up (makeBeforeBreak with peerFirstMs): its children
 * start nothing (`start_action = none`: no trap, no initiate) and install their policies at HELD_PRIORITY, after the old
 * CHILD_SA's on the same selectors, so that this end, the responder of the new CHILD_SA, keeps sending on the old one
 * (its outbound policy names the old SA's SPI) until that is deleted, and then at once on the new one (its own policy,
 * naming the new SPI, is next); the new CHILD_SA, with the old one's reqid, is accepted inbound meanwhile. (Held with
 * `policies = no` instead, it had no policies of its own for life: the trap policy's SPI-less template carried its
 * traffic, and the next replace's new trap took that over before its CHILD_SA was up: 13 lost in the lab.)
 */
export function heldSection(section: Map<string, ViciInputElement>): Map<string, ViciInputElement> {
  const kids = section.get('children');
  if (!kids || typeof kids !== 'object' || Array.isArray(kids) || Buffer.isBuffer(kids)) return section;
  const hold = (v: unknown): unknown => {
    if (v instanceof Map) return new Map([...v, ['start_action', 'none'], ['priority', HELD_PRIORITY]]);
    if (v && typeof v === 'object' && !Array.isArray(v)) return { ...(v as object), start_action: 'none', priority: HELD_PRIORITY };
    return v;
  };
  const out = new Map(section);
  if (kids instanceof Map) out.set('children', new Map([...kids].map(([n, v]) => [n, hold(v)])) as ViciInputElement);
  else out.set('children', Object.fromEntries(Object.entries(kids).map(([n, v]) => [n, hold(v)])) as ViciInputElement);
  return out;
}

/** Whether an established IKE_SA among `sas` has the CHILD_SA `child` installed. */
const installed = (sas: Ike[], child: string) => sas.some((s) => s.state === 'ESTABLISHED' && s.children.some((k) => k.name === child && k.state === 'INSTALLED'));
const up = (sas: Ike[], want: string[]) => sas.find((s) => s.state === 'ESTABLISHED' && want.every((w) => s.children.some((k) => k.name === w && k.state === 'INSTALLED')));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Make-before-break of one connection whose IKE_SA `old` is up under `old.name`: load the new one under the other
 * name, initiate its children (or wait for the peer, for responder-only ones) within the deadline, check charon
 * installed every child, then terminate the old IKE_SA by its unique id and unload the old name. Any failure before
 * the terminate unloads the new name (ending what it brought up) and throws MbbError: the old SA never stopped.
 * Returns the name the connection now lives under.
 *
 * With `opts.peerFirstMs` (a rekey-class change), the new name is first loaded held (heldSection: no start action, no
 * policies of its own) and the peer is given that long to initiate it: the responder of a new CHILD_SA installs it
 * and moves its outbound policy to it while building its response, before the initiator has read that response and
 * installed its inbound SA (strongSwan 5.9.8 defers the responder's outbound SA only for a CHILD_SA rekey, which cannot
 * carry new proposals), so the side that initiates must be the one whose peer waits. Here this end is the responder,
 * and held: it sends on the old SA until that is deleted. Once the new CHILD_SAs are installed and the first packet
 * came in on them (the peer installed and uses them; at most `settleMs`), the new name is loaded as the release has
 * it (its trap policies; the held CHILD_SA's own policies, next after the old one's, carry the traffic once that ends); then, until
 * the deadline, the peer is given the old CHILD_SA's DELETE (this end, its responder, ends the old CHILD_SA before it
 * answers, the peer drops its old inbound SA on the answer), and the old IKE_SA, carrying nothing, is terminated.
 * When the peer does not initiate in time, this end initiates as without it. Only for connections whose children all
 * trap (`connect: on-demand`, what the lab measured). The held CHILD_SA keeps its held configuration (its policies at
 * HELD_PRIORITY) for life: docs/changes.md says what that costs.
 */
export async function makeBeforeBreak(c: ViciClient, name: string, section: Map<string, ViciInputElement>, old: { name: string; id: number; children?: Ike['children'] }, call: Call, opts: MbbOptions): Promise<string> {
  const target = alternateOf(old.name);
  const kids = childrenOf(section);
  const want = kids.map((k) => k.name);
  const full = withReqids(sectionFor(target, section), old.children ?? []);
  const undo = async () => {
    await call(['vici', '--unload-conn', target], () => c.unloadConn(target)).catch(() => undefined);
    // (blocking: an IKE_SA a charon thread still holds, one just established, is ended too, not left up)
    for (const s of await ikeSas(c, target, true).catch(() => [])) await call(['vici', '--terminate', '--ike-id', String(s.id), '--force'], () => c.terminate({ ikeId: s.id, force: true, timeout: -1 })).catch(() => undefined);
  };
  // Only for children that trap: their trap policies (the old CHILD_SA's reqid, no SPI) are what carries the traffic
  // onto a new CHILD_SA installed without policies of its own (`connect: always` ones: this end initiates, as before).
  const peerFirst = (opts.peerFirstMs ?? 0) > 0 && kids.some((k) => k.initiate) && kids.every((k) => k.trap);
  try {
    await call(['vici', '--load-conn', target], () => c.loadConn(target, peerFirst ? heldSection(full) : full));
  } catch (e) {
    throw new MbbError(name, 'load', (e as Error).message);
  }
  // The peer's first packet on every new CHILD_SA proves it installed them (it moves its traffic when it does): until
  // then this end keeps sending on the old SA (at most settleMs; an idle tunnel sends nothing).
  const firstPacket = async (sa: Ike) => {
    const until = Date.now() + (opts.settleMs ?? 3000);
    const used = (s: Ike | undefined) => !!s && want.every((w) => s.children.some((k) => k.name === w && k.state === 'INSTALLED' && (k.bytesIn ?? 0) > 0));
    let now: Ike | undefined = sa;
    while (!used(now) && Date.now() < until) {
      await sleep(Math.min(100, opts.pollMs ?? 100));
      now = (await ikeSas(c, target)).find((s) => s.id === sa.id);
    }
  };
  let byPeer: Ike | undefined;
  // An IKE_SA of the new name the peer started and is still negotiating (this end then initiates nothing: a second
  // CHILD_SA on it would be one this end initiates).
  let started = false;
  if (peerFirst) {
    // The peer's turn: it initiates the new IKE_SA (its new connection, peer-config's) while this end only responds.
    const until = Date.now() + opts.peerFirstMs!;
    opts.waiting?.(target);
    byPeer = up(await ikeSas(c, target), want);
    while (!byPeer && Date.now() < until) {
      await sleep(opts.pollMs ?? 250);
      byPeer = up(await ikeSas(c, target), want);
    }
    if (!byPeer) {
      // Once more, waiting for an IKE_SA a charon thread holds (the IKE_AUTH of one the peer started just now).
      const last = await ikeSas(c, target, true);
      byPeer = up(last, want);
      started = !byPeer && last.length > 0;
    }
    if (byPeer) await firstPacket(byPeer);
    // As the release has it (start action, policies): charon keeps the CHILD_SAs, only its children's configs change.
    try {
      await call(['vici', '--load-conn', target], () => c.loadConn(target, full));
    } catch (e) {
      await undo();
      throw new MbbError(name, 'switch', (e as Error).message);
    }
  }
  const deadline = Date.now() + opts.deadlineMs;
  if (!byPeer && !started) {
    for (const k of kids.filter((x) => x.initiate)) {
      const left = Math.max(1000, deadline - Date.now());
      try {
        await call(['vici', '--initiate', '--ike', target, '--child', k.name], () => c.initiate({ ike: target, child: k.name, timeout: left }, { timeoutMs: left + 5000 }));
      } catch (e) {
        // A child with `start_action = start` (`connect: always`) is initiated by charon itself as load-conn loads it
        // (a queued job, not awaited). When that CHILD_SA is installed before this initiate arrives, charon refuses a
        // duplicate ("not establishing CHILD_SA c{5} due to existing duplicate {4}") and answers "establishing
        // CHILD_SA 'c' failed" although the child is up: that is checked (blocking: the IKE_SA may still be held by
        // the thread that installed it) before the initiate counts as failed.
        if (installed(await ikeSas(c, target, true).catch(() => []), k.name)) continue;
        await undo();
        throw new MbbError(name, 'initiate', e instanceof ViciCommandError ? e.errmsg : (e as Error).message);
      }
    }
  }
  // Responder-only children come up when the peer initiates: charon is asked until they do or the deadline passes.
  // (The first time blocking: an IKE_SA just established may still be held by the thread that installed its children.)
  let ok = byPeer ?? up(await ikeSas(c, target, true), want);
  while (!ok && Date.now() < deadline) {
    await sleep(opts.pollMs ?? 250);
    ok = up(await ikeSas(c, target), want);
  }
  if (!ok) {
    await undo();
    throw new MbbError(name, 'check', `no IKE_SA of ${target} with ${want.join(', ')} installed within ${Math.round(opts.deadlineMs / 1000)} s`);
  }
  if (started) await firstPacket(ok);
  opts.initiatedBy?.(byPeer || started ? 'peer' : 'us');
  if (byPeer || started) {
    // The peer that initiated the new IKE_SA is given the old CHILD_SAs' DELETE too (until the deadline): this end, that
    // DELETE's responder, ends its old CHILD_SA (its traffic moves to the held CHILD_SA's own policies) before it
    // answers, and the peer drops its old inbound SA only on the answer. A DELETE this end sends lets the peer drop
    // that SA at once, while this end sends on it until its own updown hook has run and the SA is gone (the lab: ~1.3 s
    // under emulation, 14 lost); an IKE_SA DELETE from the peer as well (its responder answers first). Then the old
    // IKE_SA, with nothing left on it, is ended here.
    // (blocking: an old IKE_SA a charon thread holds at that moment is not one that carries nothing, to be ended early)
    const carries = async () =>
      (await c.listSas({ ikeId: old.id })).some((s) => Number(s.section.uniqueid) === old.id && childSas(s.section).some((k) => k.state === 'INSTALLED'));
    while ((await carries()) && Date.now() < deadline) await sleep(Math.min(200, opts.pollMs ?? 200));
  }
  await endIke(c, call, old.id);
  // (A full reload's swanctl --load-all may have unloaded the old name already: settleAlternates.)
  if (opts.oldLoaded !== false) await call(['vici', '--unload-conn', old.name], () => c.unloadConn(old.name));
  return target;
}

/**
 * A change of credentials only (a PSK rotation: the connection's section is the same) without touching the traffic:
 * the connection is loaded under its other name without children and that name's IKE_SA initiated childless
 * (RFC 6023; strongSwan's default `childless = allow` accepts it): it authenticates with the new secret at both ends,
 * which proves the peer has it; then that IKE_SA is terminated and the name unloaded. The established IKE_SA and its
 * CHILD_SAs stay as they are (their keys never came from the PSK; the next authentication uses the new one). Any
 * CHILD_SA made instead, in a new IKE_SA, loses what the peer sends on it before this end installs it (the responder
 * installs and uses its outbound SA before its IKE_AUTH response arrives here): see docs/psk-rotation.md.
 * Throws MbbError when no IKE_SA came up (a peer without the new secret, or one refusing childless IKE_SAs).
 */
export async function proveCredentials(c: ViciClient, name: string, section: Map<string, ViciInputElement>, old: { name: string }, call: Call, opts: MbbOptions): Promise<void> {
  const target = alternateOf(old.name);
  const bare = new Map(sectionFor(target, section));
  bare.delete('children');
  // Both listings blocking: right after the initiate returns, the IKE_AUTH thread may still hold the new IKE_SA, and a
  // non-blocking list-sas skips it (seen: the prove then counted as failed, make-before-break moved the traffic
  // instead, and the childless IKE_SA was not ended).
  const end = async () => {
    for (const s of await ikeSas(c, target, true).catch(() => [])) await call(['vici', '--terminate', '--ike-id', String(s.id), '--force'], () => c.terminate({ ikeId: s.id, force: true, timeout: 10_000 }, { timeoutMs: 20_000 })).catch(() => undefined);
    await call(['vici', '--unload-conn', target], () => c.unloadConn(target)).catch(() => undefined);
  };
  try {
    await call(['vici', '--load-conn', target], () => c.loadConn(target, bare));
  } catch (e) {
    throw new MbbError(name, 'load', (e as Error).message);
  }
  try {
    const left = Math.max(1000, opts.deadlineMs);
    await call(['vici', '--initiate', '--ike', target], () => c.initiate({ ike: target, timeout: left }, { timeoutMs: left + 5000 }));
    if (!(await ikeSas(c, target, true)).some((s) => s.state === 'ESTABLISHED')) throw new Error(`no IKE_SA of ${target} established`);
  } catch (e) {
    await end();
    throw new MbbError(name, 'initiate', e instanceof ViciCommandError ? e.errmsg : (e as Error).message);
  }
  await end();
}

/**
 * After a full reload (swanctl --load-all loads every connection under its bundle name and unloads the names no file
 * holds, the alternates among them, but leaves their SAs up): each connection still carried by an IKE_SA under its
 * alternate name moves back to its own name make-before-break (its section from `sectionOf`), or, when that fails or
 * no section is known, that IKE_SA is terminated (the connection's start or trap action brings it up under its own
 * name). An alternate still loaded is unloaded. Returns one line per alternate handled.
 */
export async function settleAlternates(c: ViciClient, call: Call, sectionOf: (name: string) => Map<string, ViciInputElement> | undefined, opts: MbbOptions): Promise<string[]> {
  const said: string[] = [];
  const held = new Set(await c.getConns());
  for (const n of [...held].filter((x) => x.endsWith(ALTERNATE)).sort()) {
    await call(['vici', '--unload-conn', n], () => c.unloadConn(n));
    held.delete(n);
    said.push(`${baseName(n)}: unloaded its alternate ${n}`);
  }
  const sas = (await c.listSas({ noblock: true })).map((s) => ({ name: s.name, id: Number(s.section.uniqueid), state: String(s.section.state), section: s.section }));
  for (const s of sas.filter((x) => x.name.endsWith(ALTERNATE))) {
    const base = baseName(s.name);
    const section = held.has(base) ? sectionOf(base) : undefined;
    const mine = sas.some((x) => x.name === base && x.state === 'ESTABLISHED');
    if (section && s.state === 'ESTABLISHED' && !mine) {
      try {
        await makeBeforeBreak(c, base, section, { name: s.name, id: s.id, children: childSas(s.section) }, call, { ...opts, oldLoaded: false });
        said.push(`${base}: moved from its alternate ${s.name} back to its own name make-before-break`);
        continue;
      } catch (e) {
        if (!(e instanceof MbbError)) throw e;
        said.push(`${base}: ${e.message}`);
        // Its undo unloaded the name it loaded, the connection's own: loaded again as the release has it.
        await call(['vici', '--load-conn', base], () => c.loadConn(base, section));
      }
    }
    await endIke(c, call, s.id);
    said.push(`${base}: terminated IKE_SA #${s.id} of its alternate ${s.name}`);
  }
  return said;
}

export interface ApplySwanOptions {
  /** Make-before-break for replaced connections whose IKE_SA is up (false: load, then terminate, as before). */
  mbb?: MbbOptions;
  /**
   * Connections whose proposals or lifetimes changed (plan's `rekeyed`). charon 5.9.8 rekeys an SA with the
   * configuration it was made with (a CHILD_SA rekeyed after load-conn keeps its old proposal: measured), so
   * the new proposals take effect only in a new IKE_SA: one the gateway starts goes make-before-break too.
   */
  rekey?: Set<string>;
  /**
   * For those rekey-class connections: how long the peer has to initiate the new IKE_SA itself before this end does
   * (MbbOptions.peerFirstMs; 0: this end initiates at once). A replace does not wait.
   */
  peerFirstMs?: number;
  /**
   * The new release's section of a connection to replace whose own section did not change (so it is not among the
   * plan's loads): a new PSK for the same identities (docs/psk-rotation.md). With it, such a connection goes
   * make-before-break too, after the new secrets are loaded; without it, it is terminated (break-before-make).
   */
  sectionOf?: (name: string) => Map<string, ViciInputElement> | undefined;
  /**
   * For such a credentials-only replace, first prove the new credentials with a childless IKE_SA and leave the traffic
   * where it is (proveCredentials; default). false: make-before-break straight away (a new IKE_SA carries the traffic).
   */
  prove?: boolean;
  /**
   * Connections the release the host runs does not have (an added tenant's, a new site's): charon cannot hold them
   * under their alternate names (a make-before-break leaves NAME~2 only for a connection the release has, and a
   * release that drops it unloads the name it lives under), so their alternates are not asked for: a list-conns is a
   * scan of every connection charon holds (about 6 ms at 30,000), three for an added tenant.
   */
  fresh?: (name: string) => boolean;
  say?: (line: string) => void;
}

/**
 * The sections of `names` in release `rel` (the files under swanctl/conf.d/ that name them, parsed): what a replace
 * of a connection whose section is unchanged loads under its alternate name. Names no file holds are left out.
 *
 * With tenant entries in the manifest, only the names a tenant of the release lists are looked for, first in that
 * tenant's own file (`swanctl/conf.d/TENANT.conf`, as src/targets/strongswan/view.ts names it): the names apply asks
 * for are the change set's terminations, and a removed tenant's connections are among them with no section anywhere.
 * Looking for those read every connection file of the release (10,000 at 10,000 tenants: 0.2-0.3 s of the remove's
 * reload-strongswan) to find nothing. A name its tenant's file does not hold is looked for in every file, as before.
 * With `among`, only those tenants' lists are looked at (a name none of them lists is left out).
 */
export function connectionSections(rel: Release, names: string[], swanctlDir: string, among?: string[]): Map<string, Map<string, ViciInputElement>> {
  const out = new Map<string, Map<string, ViciInputElement>>();
  if (!names.length) return out;
  let wanted = names;
  const first: string[] = [];
  const tenants = rel.manifest.tenants as Release['manifest']['tenants'] | undefined;
  if (tenants) {
    const asked = new Set(names);
    wanted = [];
    // `among`: the tenants whose lists hold the names (the switch's touched tenants), not all 10,000 walked.
    for (const t of among ?? Object.keys(tenants)) {
      const mine = tenants[t]?.connections?.filter((c) => asked.has(c)) ?? [];
      if (!mine.length) continue;
      wanted.push(...mine);
      if (Object.hasOwn(rel.manifest.files, `${CONF_DIR}${t}.conf`)) first.push(`${CONF_DIR}${t}.conf`);
    }
    if (!wanted.length) return out;
  }
  const look = (files: string[]) => {
    for (const f of files) {
      const text = read(rel, f);
      if (text === undefined || !wanted.some((n) => !out.has(n) && text.includes(`${n} {`))) continue;
      for (const [n, c] of conns(text, f, swanctlDir)) if (wanted.includes(n) && !out.has(n)) out.set(n, c.section);
      if (wanted.every((n) => out.has(n))) return;
    }
  };
  look(first.sort());
  if (!wanted.every((n) => out.has(n))) look(Object.keys(rel.manifest.files).filter((p) => p.startsWith(CONF_DIR)).sort());
  return out;
}

/** One request of a whole release's load (`firstLoadRequests`): what it loads, for the failures' report. */
export interface LoadRequest {
  cmd: 'load-shared' | 'load-conn';
  name: string;
  message: Buffer;
}

/**
 * Every request a first load of release `to` makes, in swanctl --load-all's order: its shared secrets (unless
 * `secrets` is false: swanctl --load-creds loaded them), then its connections file by file. A generator: each file
 * is read and parsed when the pipeline asks for more (ViciClient.pipeline), while charon loads what it was sent.
 * The messages are the bytes swanctl sends (src/vici).
 */
export function* firstLoadRequests(to: Release, swanctlDir: string, opts: { secrets: boolean }): Generator<LoadRequest> {
  if (opts.secrets) {
    const text = read(to, SECRETS_CONF);
    if (text !== undefined) for (const s of secretsToVici(parseSwanctlConf(text, SECRETS_CONF))) yield { cmd: 'load-shared', name: s.id, message: encode(loadSharedMessage(s)) };
  }
  for (const f of Object.keys(to.manifest.files).filter((p) => p.startsWith(CONF_DIR)).sort()) {
    const text = read(to, f);
    if (text === undefined) continue;
    for (const c of connectionsToVici(parseSwanctlConf(text, f), { swanctlDir })) yield { cmd: 'load-conn', name: c.name, message: encode(loadConnMessage(c)) };
  }
}

/**
 * Applies a plan: secrets first (a connection may need its new PSK at once), then connections, then the
 * unloads, then terminates the SAs of removed or replaced connections (charon keeps them up otherwise).
 * A connection charon holds under its alternate name is loaded, unloaded and terminated under that name. A replaced
 * connection (in `terminate` and in the plan's loads) whose IKE_SA is up goes make-before-break (`opts.mbb`).
 */
export async function applySwanPlan(client: ViciClient | undefined, plan: SwanPlan, terminate: string[], call: Call, opts: ApplySwanOptions = {}): Promise<void> {
  const c = () => client!;
  // Which of their two names charon holds the touched connections under: their alternates asked for by name in one
  // exchange (listConnsEach), and only for a held alternate the name itself. A dry run knows none. (This was one
  // get-conns: 30,000 names at 10,000 tenants, 15 ms of charon's and node's time when warm and 50-100 ms in a
  // one-shot apply, where decoding them was the first and coldest use of the decoder.)
  const held = new Set<string>();
  if (client) {
    const ask = async (names: string[]) => {
      for (const [n, found] of await client.listConnsEach(names)) if (found.some((x) => x.name === n)) held.add(n);
    };
    const touched = [...new Set([...plan.load.map((l) => l.name), ...plan.unload, ...terminate])].filter((n) => !opts.fresh?.(n)).sort();
    if (touched.length) await ask(touched.map(alternateOf));
    const alternates = touched.filter((n) => held.has(alternateOf(n)));
    if (alternates.length) await ask(alternates);
  }
  const live = (n: string) => (held.has(alternateOf(n)) && !held.has(n) ? alternateOf(n) : n);
  const ends = new Set(terminate);
  for (const s of plan.loadShared) await call(['vici', '--load-shared', s.id], () => c().request('load-shared', loadSharedMessage(s)));
  for (const l of plan.load) {
    const name = live(l.name);
    const rekeyed = !!opts.rekey?.has(l.name) && childrenOf(l.section).some((k) => k.initiate);
    if (client && opts.mbb && (ends.has(l.name) || rekeyed)) {
      // (blocking: an IKE_SA a charon thread holds at that moment, in a rekey or a DPD, is up; skipped, the replace would
      // be the plain load-conn and terminate, break-before-make)
      const old = (await ikeSas(client, name, true)).find((s) => s.state === 'ESTABLISHED');
      if (old) {
        let by = '';
        const secs = Math.round((opts.peerFirstMs ?? 0) / 1000);
        const o = ends.has(l.name)
          ? opts.mbb
          : {
              ...opts.mbb,
              peerFirstMs: opts.peerFirstMs,
              initiatedBy: (w: 'peer' | 'us') => (by = w === 'peer' ? ', initiated by the peer' : opts.peerFirstMs ? `, initiated here: the peer did not within ${secs} s` : ''),
              // The line the site's admin waits for (peer-config --rekey): now the site initiates its new connection.
              waiting: (target: string) => opts.say?.(`  reload-strongswan: ${l.name}: new proposals loaded held as ${target}; waiting ${secs} s for the peer to initiate its new connection, then to delete its old CHILD_SA (--peer-first)`),
            };
        const now = await makeBeforeBreak(client, l.name, l.section, old, call, o);
        opts.say?.(`  reload-strongswan: ${l.name} ${ends.has(l.name) ? 'replaced' : 'rekeyed'} make-before-break (now loaded as ${now}${by})`);
        ends.delete(l.name);
        continue;
      }
    }
    // A dry run (no charon to ask whether its IKE_SA is up) says what the peer's turn would be.
    if (!client && rekeyed && opts.mbb && opts.peerFirstMs && !ends.has(l.name) && childrenOf(l.section).every((k) => k.trap))
      opts.say?.(`  reload-strongswan: ${l.name}: new proposals; if its IKE_SA is up: make-before-break, the peer given ${Math.round(opts.peerFirstMs / 1000)} s to initiate its new connection (--peer-first)`);
    await call(['vici', '--load-conn', name], () => c().loadConn(name, sectionFor(name, l.section)));
  }
  // Replaced with the same section (a new PSK, loaded above): make-before-break under the alternate name as well.
  const loaded = new Set(plan.load.map((l) => l.name));
  for (const n of [...ends]) {
    const section = client && opts.mbb && !loaded.has(n) ? opts.sectionOf?.(n) : undefined;
    if (!client || !opts.mbb || !section) continue;
    const old = (await ikeSas(client, live(n), true)).find((s) => s.state === 'ESTABLISHED');
    if (!old) continue;
    ends.delete(n);
    if (opts.prove !== false) {
      try {
        await proveCredentials(client, n, section, old, call, opts.mbb);
        opts.say?.(`  reload-strongswan: ${n}'s new credentials proved by a childless IKE_SA under ${alternateOf(old.name)}; its traffic stays on IKE_SA #${old.id} (docs/psk-rotation.md)`);
        continue;
      } catch (e) {
        if (!(e instanceof MbbError)) throw e;
        opts.say?.(`  reload-strongswan: ${n}: a childless IKE_SA did not come up (${e.detail}); make-before-break instead`);
      }
    }
    const now = await makeBeforeBreak(client, n, section, old, call, opts.mbb);
    opts.say?.(`  reload-strongswan: ${n} replaced make-before-break with its new credentials (now loaded as ${now})`);
  }
  for (const n of plan.unload) await call(['vici', '--unload-conn', live(n)], () => c().unloadConn(live(n)));
  for (const id of plan.unloadShared) await call(['vici', '--unload-shared', id], () => c().unloadShared(id));
  for (const n0 of ends) {
    const n = live(n0);
    await call(['vici', '--terminate', '--ike', n, '--force'], async () => {
      try {
        await c().terminate({ ike: n, force: true, timeout: 10_000 }, { timeoutMs: 20_000 });
      } catch (e) {
        // Nothing up for it: nothing to end.
        if (!(e instanceof ViciCommandError && /no matching|not found/i.test(e.errmsg))) throw e;
      }
    });
  }
}
