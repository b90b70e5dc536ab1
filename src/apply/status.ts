// `s2sgw status`: per tenant, what the host runs (its VRF, interfaces, tunnels and BGP sessions), read through the Runner.
import { alternateOf } from './incremental/swan';
import { Runner } from './runner';
import { currentLink, layout, readPending, readState } from './layout';
import { openRelease } from './release';
import { readJournal } from './journal';
import { readIfExists } from './fsx';
import { stateFile } from '../targets/keepalived/paths';
import { isDrained } from './ha';
import type { TenantSummary } from '../model/summary';

export interface SaStatus {
  state: string;
  /** IKE SA established this many seconds ago, when charon says. */
  establishedSeconds?: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  children: Array<{ name: string; state: string; spiIn?: string; spiOut?: string; bytesIn: number; bytesOut: number; packetsIn: number; packetsOut: number }>;
}

export interface TenantStatus {
  tenant: string;
  vrf: { exists: boolean | null; table: number | null; expectedTable?: number };
  interfaces: Array<{ name: string; state: string; addresses: string[] }>;
  connections: Array<{ name: string; loaded: boolean; connect?: string; sa: SaStatus | null }>;
  bgp: Array<{ neighbor: string; state: string; prefixesReceived?: number; uptime?: string }>;
  /** On an HA pair (docs/ha.md): this gateway's role, keepalived's state here, who holds the address, whether this host is ready. */
  ha?: { role: 'active' | 'standby'; partner: string; vrid: number; state: string | null; holder: string | null; drained: boolean; ready: boolean };
}

/** Something the current release holds that the host does not run as it should: `s2sgw status` exits 3. */
export interface Degraded {
  tenant?: string;
  connection?: string;
  neighbor?: string;
  what: 'vrf-missing' | 'vrf-table' | 'connection-not-loaded' | 'sa-missing' | 'bgp-down' | 'journal' | 'ha';
  message: string;
}

/** The shape of `status --format json`; `version` changes only when a field changes meaning or goes away. */
export const STATUS_VERSION = 1;

export interface HostStatus {
  version: number;
  /** ok: everything as the release says (exit 0); degraded: see `degraded` (exit 3); error: see `problems` (exit 1). */
  health: 'ok' | 'degraded' | 'error';
  release: string | null;
  previous: string | null;
  pendingConfirm?: { release: string; deadline: string };
  journal?: { op: string; phase: string; lastStep?: string };
  tenants: TenantStatus[];
  degraded: Degraded[];
  /** What could not be read (a daemon down, a tool missing): status reports, it does not fail. */
  problems: string[];
}

/** Parses `swanctl --list-sas` text: IKE SAs with their CHILD SAs, SPIs and byte counters. Pure. */
export function parseSas(text: string): Map<string, SaStatus> {
  const out = new Map<string, SaStatus>();
  let ike: SaStatus | undefined;
  let child: SaStatus['children'][number] | undefined;
  for (const line of text.split('\n')) {
    let m = /^(\S+): #\d+, (\w+), IKEv\d/.exec(line);
    if (m) {
      ike = { state: m[2], bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, children: [] };
      out.set(m[1], ike);
      child = undefined;
      continue;
    }
    if (!ike) continue;
    if ((m = /^\s+established (\d+)s ago/.exec(line))) ike.establishedSeconds = Number(m[1]);
    else if ((m = /^\s+(\S+): #\d+, reqid \d+, (\w+),/.exec(line))) {
      child = { name: m[1], state: m[2], bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
      ike.children.push(child);
    } else if (child && (m = /^\s+(in|out)\s+([0-9a-f]+)(?:\s*\([^)]*\))?,\s+(\d+) bytes(?:,\s+(\d+) packets)?/.exec(line))) {
      const bytes = Number(m[3]);
      const packets = Number(m[4] ?? 0);
      if (m[1] === 'in') {
        child.spiIn = m[2];
        child.bytesIn = bytes;
        child.packetsIn = packets;
        ike.bytesIn += bytes;
        ike.packetsIn += packets;
      } else {
        child.spiOut = m[2];
        child.bytesOut = bytes;
        child.packetsOut = packets;
        ike.bytesOut += bytes;
        ike.packetsOut += packets;
      }
    }
  }
  return out;
}

function json<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Reads the host's state for every tenant of the current release (or only `tenants`). Never changes anything. */
export async function hostStatus(runner: Runner, only?: string[]): Promise<HostStatus> {
  const l = layout(runner);
  const state = readState(l);
  const name = currentLink(l) ?? state.current;
  const release = name ? openRelease(l, name) : null;
  const problems: string[] = [];
  const pending = readPending(l);
  const j = readJournal(l);
  const out: HostStatus = {
    version: STATUS_VERSION,
    health: 'ok',
    release: name,
    previous: state.previous,
    ...(pending ? { pendingConfirm: { release: pending.release, deadline: pending.deadline } } : {}),
    ...(j ? { journal: { op: j.op, phase: j.phase, lastStep: j.steps.at(-1)?.step } } : {}),
    tenants: [],
    degraded: [],
    problems,
  };
  if (j) out.degraded.push({ what: 'journal', message: `an interrupted ${j.op} left its journal (phase ${j.phase}): the next apply, rollback, confirm or recover finishes it` });
  if (!release) return judge(out);
  const unknown = (only ?? []).filter((t) => !release.manifest.tenants[t]);
  if (unknown.length) throw new Error(`tenant ${unknown.join(', ')} is not in the current release ${release.name.slice(0, 12)}`);

  const links = await runner.run('ip', ['-j', '-d', 'addr', 'show']);
  type Link = { ifname: string; operstate: string; master?: string; linkinfo?: { info_kind?: string; info_data?: { table?: number } }; addr_info?: Array<{ local: string; prefixlen: number }> };
  const all = links.code === 0 ? json<Link[]>(links.stdout, []) : [];
  if (links.code !== 0) problems.push(`ip: ${links.stderr.trim()}`);

  let sas = new Map<string, SaStatus>();
  let loaded: string[] = [];
  if (!runner.skipped('strongswan')) {
    const s = await runner.run('swanctl', ['--list-sas', '--uri', runner.vici]);
    const c = await runner.run('swanctl', ['--list-conns', '--uri', runner.vici]);
    if (s.code !== 0 || c.code !== 0) problems.push(`charon on ${runner.vici}: ${(s.stderr || c.stderr).trim()}`);
    sas = parseSas(s.stdout);
    loaded = [...c.stdout.matchAll(/^([^\s:]+): IKEv[12]/gm)].map((m) => m[1]);
  }

  type Peer = { state?: string; pfxRcd?: number; peerUptime?: string };
  let bgp: Record<string, { ipv4Unicast?: { peers?: Record<string, Peer> }; ipv6Unicast?: { peers?: Record<string, Peer> } }> = {};
  if (!runner.skipped('frr')) {
    const b = await runner.run('vtysh', [...(runner.frrPathspace ? ['-N', runner.frrPathspace] : []), '-c', 'show bgp vrf all summary json']);
    if (b.code !== 0) problems.push(`FRR: ${(b.stderr || b.stdout).trim()}`);
    else bgp = json(b.stdout, {});
  }

  for (const [t, m] of Object.entries(release.manifest.tenants).sort()) {
    if (only?.length && !only.includes(t)) continue;
    const vrf = all.find((x) => x.ifname === t && x.linkinfo?.info_kind === 'vrf');
    const mine = new Set([m.summary?.network?.interface, ...m.connections].filter(Boolean) as string[]);
    const ifaces = all.filter((x) => mine.has(x.ifname) || x.master === t);
    const peers = { ...(bgp[t]?.ipv4Unicast?.peers ?? {}), ...(bgp[t]?.ipv6Unicast?.peers ?? {}) };
    out.tenants.push({
      tenant: t,
      vrf: { exists: links.code === 0 ? !!vrf : null, table: vrf?.linkinfo?.info_data?.table ?? null, ...(m.summary?.vrf ? { expectedTable: m.summary.vrf.table } : {}) },
      interfaces: ifaces.map((x) => ({ name: x.ifname, state: x.operstate, addresses: (x.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`) })),
      // A connection replaced make-before-break lives under its alternate name (NAME~2): shown under its own.
      connections: m.connections.map((c) => ({ name: c, loaded: loaded.includes(c) || loaded.includes(alternateOf(c)), ...(m.summary?.connections?.[c]?.connect ? { connect: m.summary.connections[c].connect } : {}), sa: sas.get(c) ?? sas.get(alternateOf(c)) ?? null })),
      bgp: Object.entries(peers)
        .sort()
        .map(([n, p]) => ({ neighbor: n, state: p.state ?? 'unknown', ...(p.pfxRcd !== undefined ? { prefixesReceived: p.pfxRcd } : {}), ...(p.peerUptime ? { uptime: p.peerUptime } : {}) })),
      ...(m.summary?.ha ? { ha: haOf(runner, t, m.summary.ha, release.manifest.gateway) } : {}),
    });
    out.degraded.push(...degradedTenant(out.tenants.at(-1)!, Object.keys(m.summary?.bgp?.neighbors ?? {}), runner));
  }
  return judge(out);
}

/** One HA tenant's state on this host, from keepalived's state file and the drain file. */
function haOf(runner: Runner, tenant: string, ha: NonNullable<TenantSummary['ha']>, gateway: string): NonNullable<TenantStatus['ha']> {
  const state = readIfExists(runner.host(stateFile(tenant)))?.trim() || null;
  const drained = isDrained(runner);
  return { role: ha.role, partner: ha.partner, vrid: ha.vrid, state, holder: state === 'MASTER' ? gateway : state === 'BACKUP' ? ha.partner : null, drained, ready: state === 'MASTER' || (state === 'BACKUP' && !drained) };
}

function judge(s: HostStatus): HostStatus {
  s.health = s.problems.length ? 'error' : s.degraded.length ? 'degraded' : 'ok';
  return s;
}

/** What of one tenant runs other than its release says. Pure but for which steps the host skips (what it cannot run). */
export function degradedTenant(t: TenantStatus, neighbors: string[], runner: Pick<Runner, 'skipped'>): Degraded[] {
  const out: Degraded[] = [];
  const tenant = t.tenant;
  if (!runner.skipped('vrf') && !runner.skipped('links') && t.vrf.exists === false) out.push({ tenant, what: 'vrf-missing', message: `VRF ${tenant} is missing` });
  else if (!runner.skipped('vrf') && t.vrf.exists && t.vrf.expectedTable !== undefined && t.vrf.table !== t.vrf.expectedTable) out.push({ tenant, what: 'vrf-table', message: `VRF ${tenant} uses table ${t.vrf.table}, the release says ${t.vrf.expectedTable}` });
  if (!runner.skipped('strongswan')) {
    for (const c of t.connections) {
      if (!c.loaded) out.push({ tenant, connection: c.name, what: 'connection-not-loaded', message: `connection ${c.name} is not loaded in charon` });
      else if (c.connect === 'always' && !(c.sa?.state === 'ESTABLISHED' && c.sa.children.some((ch) => ch.state === 'INSTALLED')))
        out.push({ tenant, connection: c.name, what: 'sa-missing', message: `connection ${c.name} (connect: always) has ${c.sa ? `IKE SA ${c.sa.state} and no installed CHILD SA` : 'no SA'}` });
    }
  }
  if (t.ha && !runner.skipped('keepalived') && !t.ha.ready) {
    out.push({ tenant, what: 'ha', message: `VRRP here is ${t.ha.state ?? 'not running (no state file)'}${t.ha.drained ? ', drained' : ''}: this gateway cannot take ${tenant} over from ${t.ha.partner}` });
  }
  if (!runner.skipped('frr')) {
    for (const n of neighbors) {
      const b = t.bgp.find((x) => x.neighbor === n);
      if (b?.state !== 'Established') out.push({ tenant, neighbor: n, what: 'bgp-down', message: `BGP session to ${n} is ${b ? b.state : 'not configured in FRR'}` });
    }
  }
  return out;
}

/** The text form: one block per tenant. */
export function formatStatus(s: HostStatus): string {
  const lines: string[] = [];
  lines.push(`release: ${s.release ?? '(none)'}${s.previous ? `  (previous ${s.previous.slice(0, 12)})` : ''}`);
  if (s.pendingConfirm) lines.push(`pending confirm: release ${s.pendingConfirm.release.slice(0, 12)} rolls back at ${s.pendingConfirm.deadline} unless \`s2sgw confirm\` runs`);
  if (s.journal) lines.push(`interrupted ${s.journal.op} (${s.journal.phase}, last step ${s.journal.lastStep ?? '-'}): the next apply, rollback or confirm finishes it`);
  for (const t of s.tenants) {
    lines.push('', `tenant ${t.tenant}`);
    lines.push(`  vrf ${t.tenant}: ${t.vrf.exists === null ? 'unknown' : t.vrf.exists ? `table ${t.vrf.table}` : 'MISSING'}${t.vrf.expectedTable !== undefined && t.vrf.table !== t.vrf.expectedTable ? ` (expected table ${t.vrf.expectedTable})` : ''}`);
    for (const i of t.interfaces) lines.push(`  interface ${i.name}: ${i.state}${i.addresses.length ? ` ${i.addresses.join(' ')}` : ''}`);
    for (const c of t.connections) {
      const sa = c.sa;
      lines.push(`  connection ${c.name}: ${c.loaded ? 'loaded' : 'NOT LOADED'}, ${sa ? `${sa.state}${sa.establishedSeconds !== undefined ? ` ${sa.establishedSeconds}s` : ''}, ${sa.bytesIn} bytes in, ${sa.bytesOut} bytes out` : 'no SA'}`);
      for (const ch of sa?.children ?? []) lines.push(`    child ${ch.name}: ${ch.state}, spi in ${ch.spiIn ?? '-'} out ${ch.spiOut ?? '-'}`);
    }
    if (t.ha) lines.push(`  ha: ${t.ha.role} of the pair with ${t.ha.partner}, vrid ${t.ha.vrid}, keepalived ${t.ha.state ?? 'no state'}${t.ha.drained ? ' (drained)' : ''}; address held by ${t.ha.holder ?? 'unknown'}; ${t.ha.ready ? 'ready' : 'NOT READY'}`);
    for (const n of t.bgp) lines.push(`  bgp ${n.neighbor}: ${n.state}${n.prefixesReceived !== undefined ? `, ${n.prefixesReceived} prefixes` : ''}${n.uptime ? `, up ${n.uptime}` : ''}`);
  }
  if (s.degraded.length) lines.push('', ...s.degraded.map((d) => `degraded: ${d.tenant ? `${d.tenant}: ` : ''}${d.message}`));
  if (s.problems.length) lines.push('', ...s.problems.map((p) => `problem: ${p}`));
  lines.push('', `health: ${s.health}`);
  return lines.join('\n') + '\n';
}
