// `s2sgw metrics`: the host's state in the Prometheus text exposition format, for node_exporter's textfile collector.
// Gathering reads the host (status, tc, state files); rendering is a pure function of what was gathered.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Runner } from './runner';
import { hostStatus, HostStatus } from './status';
import { layout, readPending } from './layout';
import { readIfExists } from './fsx';
import { manifestHead } from './releases';
import type { LastApply } from './engine';

/** Drops by each connection's rate limits: egress TBF (transmit) and the ingress policer (receive). */
export interface TcDrops {
  transmit: number;
  receive: number;
}

export interface MetricsInput {
  status: HostStatus;
  commit: string | null;
  unconfirmed: boolean;
  lastApply?: LastApply;
  /** Per device (connection interface); absent when tc was not read. */
  tc?: Map<string, TcDrops>;
}

/** Reads `tc -s -j qdisc show`: a tbf root qdisc's drops are the transmit limit's, the ingress qdisc's those of its policer (the kernel counts a police drop on the ingress qdisc). Pure. */
export function parseTcDrops(json: string): Map<string, TcDrops> {
  const out = new Map<string, TcDrops>();
  let list: Array<{ kind?: string; dev?: string; drops?: number }> = [];
  try {
    list = JSON.parse(json);
  } catch {
    return out;
  }
  for (const q of list) {
    if (!q.dev || (q.kind !== 'tbf' && q.kind !== 'ingress')) continue;
    const d = out.get(q.dev) ?? { transmit: 0, receive: 0 };
    if (q.kind === 'tbf') d.transmit += q.drops ?? 0;
    else d.receive += q.drops ?? 0;
    out.set(q.dev, d);
  }
  return out;
}

export async function gatherMetrics(runner: Runner): Promise<MetricsInput> {
  const l = layout(runner);
  const status = await hostStatus(runner);
  let tc: Map<string, TcDrops> | undefined;
  if (!runner.skipped('tc') && status.tenants.length) {
    const r = await runner.run('tc', ['-s', '-j', 'qdisc', 'show']);
    if (r.code === 0) tc = parseTcDrops(r.stdout);
    else status.problems.push(`tc: ${r.stderr.trim()}`);
  }
  const last = readIfExists(l.lastApply);
  let lastApply: LastApply | undefined;
  try {
    lastApply = last ? (JSON.parse(last) as LastApply) : undefined;
  } catch {
    status.problems.push(`${l.lastApply} is not valid JSON`);
  }
  return {
    status,
    commit: status.release ? manifestHead(path.join(l.releases, status.release)).commit : null,
    unconfirmed: !!status.release && readPending(l)?.release === status.release,
    ...(lastApply ? { lastApply } : {}),
    ...(tc ? { tc } : {}),
  };
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

class Exposition {
  private out: string[] = [];
  family(name: string, type: 'gauge' | 'counter', help: string, samples: Array<[Record<string, string>, number]>): void {
    if (!samples.length) return;
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`);
      this.out.push(`${name}${l.length ? `{${l.join(',')}}` : ''} ${Number.isFinite(v) ? v : 0}`);
    }
  }
  text(): string {
    return this.out.join('\n') + '\n';
  }
}

/** The exposition text: base units (seconds, bytes), `_total` on counters, only tenant and connection labels per tenant. Pure. */
export function renderMetrics(m: MetricsInput): string {
  const s = m.status;
  const e = new Exposition();
  const one = (v: boolean) => (v ? 1 : 0);
  e.family('s2sgw_release_info', 'gauge', 'The release the host runs (1), with its id and source commit.', s.release ? [[{ release: s.release, commit: m.commit ?? '' }, 1]] : []);
  e.family('s2sgw_release_applied', 'gauge', 'Whether a release is applied on the host.', [[{}, one(!!s.release)]]);
  e.family('s2sgw_release_unconfirmed', 'gauge', 'Whether the current release was applied with --confirm and waits for `s2sgw confirm`.', [[{}, one(m.unconfirmed)]]);
  e.family('s2sgw_journal_pending', 'gauge', 'Whether an interrupted apply left its journal (the next apply, rollback, confirm or recover finishes it).', [[{}, one(!!s.journal)]]);
  e.family('s2sgw_degraded', 'gauge', 'Things the release holds that the host does not run as it should (what `s2sgw status` lists as degraded).', [[{}, s.degraded.length]]);
  e.family('s2sgw_status_problems', 'gauge', 'Things s2sgw could not read on the host (a daemon or tool not answering).', [[{}, s.problems.length]]);
  if (m.lastApply) {
    e.family('s2sgw_last_apply_success', 'gauge', 'Whether the last `s2sgw apply` succeeded.', [[{}, one(m.lastApply.result === 'success')]]);
    e.family('s2sgw_last_apply_timestamp_seconds', 'gauge', 'When the last `s2sgw apply` started, in seconds since the epoch.', [[{}, Date.parse(m.lastApply.at) / 1000]]);
    e.family('s2sgw_last_apply_duration_seconds', 'gauge', 'How long the last `s2sgw apply` took.', [[{}, m.lastApply.durationSeconds]]);
  }
  const ts = s.tenants;
  const t = (x: { tenant: string }) => ({ tenant: x.tenant });
  e.family('s2sgw_tenant_vrf_up', 'gauge', 'Whether the tenant\'s VRF exists with the table its release gives it.', ts.map((x) => [t(x), one(!!x.vrf.exists && (x.vrf.expectedTable === undefined || x.vrf.table === x.vrf.expectedTable))]));
  e.family('s2sgw_tenant_bgp_sessions', 'gauge', 'BGP sessions FRR holds in the tenant\'s VRF.', ts.map((x) => [t(x), x.bgp.length]));
  e.family('s2sgw_tenant_bgp_sessions_established', 'gauge', 'BGP sessions in the tenant\'s VRF that are Established.', ts.map((x) => [t(x), x.bgp.filter((b) => b.state === 'Established').length]));
  e.family('s2sgw_tenant_bgp_prefixes_received', 'gauge', 'Prefixes received from the tenant\'s BGP neighbors.', ts.map((x) => [t(x), x.bgp.reduce((n, b) => n + (b.prefixesReceived ?? 0), 0)]));
  const conns = ts.flatMap((x) => x.connections.map((c) => ({ labels: { tenant: x.tenant, connection: c.name }, c })));
  const f = (name: string, type: 'gauge' | 'counter', help: string, v: (c: (typeof conns)[number]['c']) => number) => e.family(name, type, help, conns.map((x) => [x.labels, v(x.c)]));
  f('s2sgw_connection_loaded', 'gauge', 'Whether charon holds the connection.', (c) => one(c.loaded));
  f('s2sgw_connection_up', 'gauge', 'Whether the tunnel is up: IKE SA established and at least one CHILD SA installed.', (c) => one(c.sa?.state === 'ESTABLISHED' && c.sa.children.some((ch) => ch.state === 'INSTALLED')));
  f('s2sgw_connection_ike_sa_established', 'gauge', 'Whether the connection\'s IKE SA is ESTABLISHED.', (c) => one(c.sa?.state === 'ESTABLISHED'));
  f('s2sgw_connection_ike_sa_established_seconds', 'gauge', 'How long ago the IKE SA was established.', (c) => c.sa?.establishedSeconds ?? 0);
  f('s2sgw_connection_child_sas_installed', 'gauge', 'CHILD SAs of the connection that are INSTALLED.', (c) => c.sa?.children.filter((ch) => ch.state === 'INSTALLED').length ?? 0);
  f('s2sgw_connection_receive_bytes_total', 'counter', 'Bytes received through the connection\'s CHILD SAs (resets when an SA is rekeyed).', (c) => c.sa?.bytesIn ?? 0);
  f('s2sgw_connection_transmit_bytes_total', 'counter', 'Bytes sent through the connection\'s CHILD SAs (resets when an SA is rekeyed).', (c) => c.sa?.bytesOut ?? 0);
  f('s2sgw_connection_receive_packets_total', 'counter', 'Packets received through the connection\'s CHILD SAs (resets when an SA is rekeyed).', (c) => c.sa?.packetsIn ?? 0);
  f('s2sgw_connection_transmit_packets_total', 'counter', 'Packets sent through the connection\'s CHILD SAs (resets when an SA is rekeyed).', (c) => c.sa?.packetsOut ?? 0);
  if (m.tc) {
    const tc = m.tc;
    f('s2sgw_connection_transmit_rate_limit_dropped_packets_total', 'counter', 'Packets the connection\'s transmit rate limit (tc tbf) dropped.', (c) => tc.get(c.name)?.transmit ?? 0);
    f('s2sgw_connection_receive_rate_limit_dropped_packets_total', 'counter', 'Packets the connection\'s receive rate limit (tc police) dropped.', (c) => tc.get(c.name)?.receive ?? 0);
  }
  return e.text();
}

/** Writes `text` to `file` as PATH.<pid> then a rename: the textfile collector never reads half a file. */
export function writeMetricsFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}`;
  try {
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
