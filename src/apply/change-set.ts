// What a switch between two releases touches on the host: tenants, connections, devices and files, from the two manifests.
import { hasSummary, Manifest, tenantNames } from '../bundle/manifest';
import { impact, GatewayImpact } from '../plan/impact';
import type { Release } from './release';
import { sameReleaseFile, SECRETS_CONF } from './release';
import type { Text } from './incremental/sections';

export interface ChangeSet {
  /** Tenants whose host state changes (added, removed or changed), sorted. */
  touched: string[];
  added: string[];
  removed: string[];
  changed: string[];
  untouched: string[];
  gatewayChanged: boolean;
  /** Connections whose SAs must be terminated (removed or replaced). */
  terminate: string[];
  /** Connections of kept tenants that are gone: their XFRM devices are deleted last. */
  removedConnections: string[];
  /** Devices that must be recreated before the link batches run (re-attached networks, replaced if_ids). */
  recreate: string[];
  /** Device names (VRF, network, XFRM) of touched tenants, for filtering per-device batches (read on first use: their summaries). */
  readonly devices: Set<string>;
  /** Device names of every tenant, old and new, so gateway lines can be told from tenant lines (read on first use: every tenant's summary). */
  readonly allDevices: Set<string>;
  /** Does this bundle file differ between the two releases? */
  fileChanged(p: string): boolean;
  secretsChanged: boolean;
  impact?: GatewayImpact;
}

type T = Manifest['tenants'][string];


function devicesOf(name: string, t: T | undefined): string[] {
  if (!t) return [];
  const net = t.summary?.network?.interface;
  return [name, ...(net ? [net] : []), ...t.connections];
}

/** Compares two releases (null: the host without s2sgw). Uses the plan's impact when both manifests carry tenant summaries. */
export function changeSet(from: Release | null, to: Release | null): ChangeSet {
  const a = from?.manifest.tenants ?? {};
  const b = to?.manifest.tenants ?? {};
  const names = tenantNames(a, b);
  // One pass over the tenants (10,000 of them; the work per tenant is a few comparisons).
  const added: string[] = [];
  const removed: string[] = [];
  const moved: string[] = [];
  const terminate = new Set<string>();
  const removedConnections: string[] = [];
  let haveSummaries = true;
  for (const n of names) {
    const x = a[n];
    const y = b[n];
    // One entry for both (deriveManifest shares a tenant's whose manifest lines are the same bytes: all but the changed
    // ones of a current release opened against the bundle): not added, removed or moved, the same connections, and
    // impact() calls it untouched without its summary, so whether it has one does not matter (9,999 lookups of 10,000).
    if (x !== undefined && x === y) continue;
    if (!x) added.push(n);
    else if (!y) removed.push(n);
    else if (x.digest !== y.digest) moved.push(n);
    // Not a read: a summary is read (from its summaries/ file) only when something asks for it.
    if (haveSummaries) haveSummaries = x ? hasSummary(from!.manifest, n) : hasSummary(to!.manifest, n);
    const old = x?.connections ?? [];
    const kept = y?.connections ?? [];
    // Most tenants keep the very same list: no set for each of 10,000.
    if (old.length === kept.length && old.every((c, i) => c === kept[i])) continue;
    const now = new Set(kept);
    for (const c of old)
      if (!now.has(c)) {
        terminate.add(c);
        if (y) removedConnections.push(c);
      }
  }
  let imp: GatewayImpact | undefined;
  let changed: string[];
  const recreate = new Set<string>();
  // Only tenants on both sides can be changed (and replace or recreate anything): a first apply, or a switch to no
  // release, reads no summary (2 s for 2,000 tenants' summary files on a first apply).
  if (haveSummaries && from && to) {
    imp = impact(from?.manifest, to?.manifest);
    changed = imp.tenants.filter((t) => t.status === 'changed').map((t) => t.tenant);
    for (const t of imp.tenants) {
      t.tunnelsDropped.forEach((c) => terminate.add(c));
      for (const c of t.changes) {
        if (c.kind === 'network' && c.disruptive) recreate.add(a[t.tenant]?.summary.network.interface ?? c.subject);
        if (c.kind === 'connection' && c.action === 'replaced' && /if_id/.test(c.detail ?? '')) recreate.add(c.subject);
      }
    }
    // A tenant whose digest moved is touched even when its summary reads the same (e.g. a gateway default it inherits).
    for (const n of moved) if (!changed.includes(n)) changed.push(n);
    changed.sort();
  } else {
    changed = moved;
  }
  const touched = [...new Set([...added, ...removed, ...changed])].sort();
  // Read on first use: each touched tenant's summary file (a first apply touches 10,000 of them, and its full reload
  // reads no device list: 1.6 s of its compare step at 10,000 tenants).
  let devices: Set<string> | undefined;
  let allDevices: Set<string> | undefined;
  const fa = from?.manifest.files ?? {};
  const fb = to?.manifest.files ?? {};
  return {
    touched,
    added,
    removed,
    changed,
    untouched: touched.length ? names.filter((n) => a[n] && b[n] && !touched.includes(n)) : [...names],
    gatewayChanged: !from || !to || from.manifest.gatewayDigest !== to.manifest.gatewayDigest,
    terminate: [...terminate].sort(),
    removedConnections: removedConnections.sort(),
    recreate: [...recreate].sort(),
    get devices() {
      return (devices ??= new Set(touched.flatMap((n) => [...devicesOf(n, a[n]), ...devicesOf(n, b[n])])));
    },
    get allDevices() {
      return (allDevices ??= new Set(names.flatMap((n) => [...devicesOf(n, a[n]), ...devicesOf(n, b[n])])));
    },
    fileChanged: (p) => fa[p]?.sha256 !== fb[p]?.sha256,
    secretsChanged: !sameReleaseFile(from, to, SECRETS_CONF),
    impact: imp,
  };
}

/**
 * The lines of a per-device batch (ip -batch, tc -batch) that a switch must run: lines naming a touched
 * tenant's device, and lines naming no tenant device at all (the gateway's) when the gateway changed.
 */
export function touchedLines(bytes: Text, cs: ChangeSet, full: boolean): string[] {
  if (!full && !cs.gatewayChanged) return linesNaming(bytes, cs.devices);
  const text = bytes.toString();
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    if (full) {
      out.push(l);
      continue;
    }
    const words = l.split(/\s+/);
    const mine = words.some((w) => cs.devices.has(w));
    const anyTenant = words.some((w) => cs.allDevices.has(w));
    if (mine || (!anyTenant && cs.gatewayChanged)) out.push(l);
  }
  return out;
}

/** ASCII whitespace, as /\s+/ splits words in a batch line. */
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const codeAt = (t: Text, i: number) => (i < 0 || i >= t.length ? 10 : typeof t === 'string' ? t.charCodeAt(i) : t[i]);

/**
 * The non-comment lines that have one of `names` as a whitespace-separated word, in file order, trimmed. Finds
 * the names with indexOf instead of splitting every line: the tc file is 11 MB at 10,000 tenants (330 ms split).
 */
export function linesNaming(text: Text, names: Iterable<string>): string[] {
  const starts = new Set<number>();
  for (const n of names) {
    if (!n) continue;
    for (let i = text.indexOf(n); i >= 0; i = text.indexOf(n, i + n.length)) {
      // A Buffer's indexes are byte offsets, which is all the search needs: names and separators are ASCII.
      if (isSpace(codeAt(text, i - 1)) && isSpace(codeAt(text, i + n.length))) starts.add(text.lastIndexOf('\n', i) + 1);
    }
  }
  const out: string[] = [];
  for (const s of [...starts].sort((x, y) => x - y)) {
    const e = text.indexOf('\n', s);
    const l = (typeof text === 'string' ? text.slice(s, e < 0 ? text.length : e) : text.toString('utf8', s, e < 0 ? text.length : e)).trim();
    if (l && !l.startsWith('#')) out.push(l);
  }
  return out;
}

/** Which tenant (and YAML line) a line of a bundle file belongs to, for error messages: "tenant contoso (tenants/contoso.yaml:12)". */
export function whereIs(r: Release | null, lineText: string): string | undefined {
  if (!r) return undefined;
  const words = new Set(lineText.split(/[^A-Za-z0-9_.-]+/).filter(Boolean));
  for (const [name, t] of Object.entries(r.manifest.tenants).sort()) {
    const conn = t.connections.find((c) => words.has(c));
    if (conn) return `tenant ${name}, connection ${conn} (${t.file}:${t.summary?.connections?.[conn]?.line ?? 1})`;
    if (words.has(name) || (t.summary?.network && words.has(t.summary.network.interface))) return `tenant ${name} (${t.file}:${t.summary?.line ?? 1})`;
  }
  return undefined;
}
