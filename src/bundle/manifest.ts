// manifest.json: its shape, how build writes it and how apply and plan read it. No dependency on the compiler,
// so `s2sgw apply` on a gateway host does not load the YAML parser, the templates or the targets.
import type { TenantSummary } from '../model/summary';

export const MANIFEST = 'manifest.json';

/**
 * Each tenant's summary (what plan and apply compare to tell what a change does) is its own bundle file, listed in
 * the manifest with its sha256 like any other: at 10,000 tenants the summaries are 26 MB, and inside manifest.json
 * every one-tenant apply read, hashed, parsed and wrote them twice over. Manifests written before summaries had
 * files carry them in the tenant's entry; both are read.
 */
export const SUMMARIES = 'summaries/';
export const summaryPath = (tenant: string): string => `${SUMMARIES}${tenant}.json`;

/** Where a bundle came from: the config repository's commit, and whether its inputs differed from that commit (dirty). */
export interface BundleSource {
  commit: string;
  dirty: boolean;
}

export interface Manifest {
  /** `s2sgw VERSION`: the s2sgw that built it. */
  compiler: string;
  gateway: string;
  /** Null when the config folder is not in a Git repository; absent in manifests written before it was recorded. */
  source?: BundleSource | null;
  /**
   * The gateway file's `rollout` (the fleet rollout wave that reaches it, 0 = canary), only when set: the Ansible
   * rollout checks its inventory against it. Nothing on the host reads it.
   */
  rollout?: { wave: number };
  /** Digest of the lines that belong to no tenant (the gateway's own settings). */
  gatewayDigest: string;
  /** `summary` is read from summaries/<tenant>.json (or the entry itself, in older manifests) when first asked for. */
  tenants: Record<string, { digest: string; file: string; connections: string[]; summary: TenantSummary }>;
  files: Record<string, { sha256: string; mode: string }>;
}

/**
 * manifest.json with one line per tenant and per file: valid JSON, a tenant's change is its own line, and
 * at 10,000 tenants it is a third the size of indented JSON.
 */
export function formatManifest(m: Manifest): string {
  const tenants = Object.fromEntries(Object.entries(m.tenants).map(([n, t]) => [n, { digest: t.digest, file: t.file, connections: t.connections }]));
  const entries = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
      .join(',\n');
  const block = (o: Record<string, unknown>) => (Object.keys(o).length ? `{\n${entries(o)}\n  }` : '{}');
  return [
    '{',
    `  "compiler": ${JSON.stringify(m.compiler)},`,
    `  "gateway": ${JSON.stringify(m.gateway)},`,
    `  "source": ${JSON.stringify(m.source ? { commit: m.source.commit, dirty: m.source.dirty } : null)},`,
    ...(m.rollout ? [`  "rollout": ${JSON.stringify({ wave: m.rollout.wave })},`] : []),
    `  "gatewayDigest": ${JSON.stringify(m.gatewayDigest)},`,
    `  "tenants": ${block(tenants)},`,
    `  "files": ${block(m.files)}`,
    '}',
    '',
  ].join('\n');
}

/**
 * Both manifests' tenant names, sorted. Manifests list them sorted, so two equal lists (a change that adds or
 * removes no tenant) need neither a set nor a sort of 10,000 names.
 */
export function tenantNames(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const x = Object.keys(a);
  const y = Object.keys(b);
  if (x.length === y.length && x.every((n, i) => n === y[i] && (i === 0 || x[i - 1] < n))) return x;
  return [...new Set([...x, ...y])].sort();
}

/** What parseManifest keeps on a tenant entry (a symbol: JSON and Object.keys do not see it). */
const STATE = Symbol('manifest entry');

interface EntryState {
  key: string;
  /** The entry carries its summary (a manifest written before summaries had files). */
  inline: boolean;
  read?: SummaryReader;
  summary?: TenantSummary;
  /** The sha256 of its summaries/ file, as the manifest lists it. */
  summarySha?: string;
}

/** Reads a tenant's summary from its summaries/ file: given by whoever reads the manifest (a bundle, a release). */
export type SummaryReader = (tenant: string) => TenantSummary | undefined;

/** Whether two tenant entries read by parseManifest say the same: digest, file and connections (false when either was not read by it). */
export function sameEntryText(a: object, b: object): boolean {
  if (!(a instanceof TenantEntry) || !(b instanceof TenantEntry)) return false;
  return a.digest === b.digest && a.file === b.file && a.connections.length === b.connections.length && a.connections.every((c, i) => c === b.connections[i]);
}

/**
 * Whether plan and apply can read tenant `name`'s summary: its summaries/ file is listed, or the entry carries it (an
 * older manifest, or one built in memory).
 */
export function hasSummary(m: Manifest, name: string): boolean {
  const t = m.tenants[name] as object | undefined;
  if (!t) return false;
  if (t instanceof TenantEntry) return t[STATE].inline || t[STATE].summarySha !== undefined;
  return 'summary' in t || !!m.files[summaryPath(name)];
}

/**
 * Whether two manifests say tenant `name` has the same summary without reading it: the same sha256 of its summaries/
 * file. False when that cannot be told (no file: compare the summaries themselves).
 */
export function sameSummary(a: Manifest, b: Manifest, name: string): boolean {
  const ta = a.tenants[name];
  const tb = b.tenants[name];
  if (ta instanceof TenantEntry && tb instanceof TenantEntry) return ta[STATE].summarySha !== undefined && ta[STATE].summarySha === tb[STATE].summarySha;
  const x = a.files[summaryPath(name)];
  const y = b.files[summaryPath(name)];
  return !!x && !!y && x.sha256 === y.sha256;
}

/**
 * A tenant entry as parseManifest returns it: digest, file and connections, and the summary when first asked for
 * (from its summaries/ file, or the entry itself in an older manifest). One class with its getter on the prototype:
 * an object literal with a getter made a closure per tenant, 10,000 of them per manifest.
 */
class TenantEntry {
  declare summary: TenantSummary;
  [STATE]: EntryState;
  constructor(
    readonly digest: string,
    readonly file: string,
    readonly connections: string[],
    state: EntryState,
  ) {
    this[STATE] = state;
  }

  toJSON(): Manifest['tenants'][string] {
    return { digest: this.digest, file: this.file, connections: this.connections, summary: this.summary };
  }
}

Object.defineProperty(TenantEntry.prototype, 'summary', {
  enumerable: true,
  get(this: TenantEntry): TenantSummary | undefined {
    const st = this[STATE];
    return st.summary ?? (st.inline ? undefined : (st.summary = st.read?.(st.key)));
  },
});

/**
 * Reads manifest.json (JSON.parse: in C++, it needs no warm-up, and a one-shot `s2sgw apply` parses two manifests of
 * 30,000 entries at 10,000 tenants: twice as fast as reading the lines in JavaScript). Each tenant entry becomes a
 * TenantEntry whose summary `read` gives from its summaries/ file when first asked for.
 */
export function parseManifest(input: string | Buffer, read?: SummaryReader): Manifest {
  const m = JSON.parse(typeof input === 'string' ? input : input.toString('utf8')) as Manifest;
  if (!m || typeof m !== 'object' || !m.tenants || typeof m.tenants !== 'object' || !m.files || typeof m.files !== 'object') return m;
  for (const name of Object.keys(m.tenants)) {
    const t = m.tenants[name] as Partial<Manifest['tenants'][string]>;
    if (!t || typeof t !== 'object' || typeof t.digest !== 'string' || !Array.isArray(t.connections)) continue;
    const inline = t.summary !== undefined;
    m.tenants[name] = new TenantEntry(t.digest, String(t.file), t.connections, { key: name, inline, read, summary: t.summary, summarySha: m.files[summaryPath(name)]?.sha256 });
  }
  return m;
}
