// Bundle phase: every target's files for one gateway, plus manifest.json with sha256s and per-tenant digests. Pure.
import { createHash } from 'node:crypto';
import type { Gateway, Model } from './model';
import { tenantsOn } from './model';
import type { Allocations } from './lock';
import { TARGETS } from '../targets';
import { RenderedFile, text } from '../targets/target';
import { VERSION } from '../version';
import { summarize, TenantSummary } from './summary';

export interface BundleFile {
  path: string;
  content: string;
  mode: number;
}

export interface Manifest {
  compiler: string;
  gateway: string;
  /** Digest of the lines that belong to no tenant (the gateway's own settings). */
  gatewayDigest: string;
  tenants: Record<string, { digest: string; file: string; connections: string[]; summary: TenantSummary }>;
  files: Record<string, { sha256: string; mode: string }>;
}

export interface Bundle {
  gateway: string;
  files: BundleFile[];
  /** The targets' output with its sections; kept only when asked for (checks, tests): it doubles the bundle's memory. */
  rendered?: RenderedFile[];
  manifest: Manifest;
}

export const MANIFEST = 'manifest.json';

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Renders one gateway's bundle in memory. Same model, same bytes. */
export function bundleGateway(model: Model, gateway: Gateway, alloc: Allocations, keepRendered = false): Bundle {
  const tenants = tenantsOn(model, gateway.name);
  const files: BundleFile[] = [];
  const kept: RenderedFile[] = [];
  // Per tenant, per file: the digest of its sections. Target by target, so one target's sections are let go
  // (joined into the file's text) before the next renders: at 10,000 tenants they are hundreds of MB.
  const perTenant = new Map<string, Map<string, string>>();
  const gatewayParts = new Map<string, string>();
  for (const target of TARGETS) {
    for (const f of target.render({ model, gateway, tenants, alloc })) {
      files.push({ path: f.path, content: text(f), mode: f.mode ?? 0o644 });
      const byTenant = new Map<string, ReturnType<typeof createHash>>();
      const gw = createHash('sha256');
      for (const s of f.sections) {
        if (s.tenant === undefined) {
          gw.update(s.text);
          continue;
        }
        let h = byTenant.get(s.tenant);
        if (!h) byTenant.set(s.tenant, (h = createHash('sha256')));
        h.update(s.text);
      }
      gatewayParts.set(f.path, gw.digest('hex'));
      for (const [t, h] of byTenant) {
        let m = perTenant.get(t);
        if (!m) perTenant.set(t, (m = new Map()));
        m.set(f.path, h.digest('hex'));
      }
      if (keepRendered) kept.push(f);
    }
  }
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  files.sort(byPath);
  kept.sort(byPath);
  /** A digest over (path, part digest) pairs in path order. */
  const combine = (parts: Map<string, string> | undefined) =>
    sha256(
      [...(parts ?? new Map<string, string>()).entries()]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([p, d]) => `${p}\0${d}\n`)
        .join(''),
    );
  const manifest: Manifest = {
    compiler: `s2sgw ${VERSION}`,
    gateway: gateway.name,
    gatewayDigest: combine(gatewayParts),
    tenants: Object.fromEntries(
      tenants.map((t) => [t.name, { digest: combine(perTenant.get(t.name)), file: t.file, connections: t.connections.map((c) => c.interface).sort(), summary: summarize(t, gateway, alloc) }]),
    ),
    files: Object.fromEntries(files.map((f) => [f.path, { sha256: sha256(f.content), mode: f.mode.toString(8).padStart(4, '0') }])),
  };
  files.push({ path: MANIFEST, content: formatManifest(manifest), mode: 0o644 });
  files.sort(byPath);
  return { gateway: gateway.name, files, ...(keepRendered ? { rendered: kept } : {}), manifest };
}

/**
 * manifest.json with one line per tenant and per file: valid JSON, a tenant's change is its own line, and
 * at 10,000 tenants it is a third the size of indented JSON.
 */
export function formatManifest(m: Manifest): string {
  const entries = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
      .join(',\n');
  const block = (o: Record<string, unknown>) => (Object.keys(o).length ? `{\n${entries(o)}\n  }` : '{}');
  return [
    '{',
    `  "compiler": ${JSON.stringify(m.compiler)},`,
    `  "gateway": ${JSON.stringify(m.gateway)},`,
    `  "gatewayDigest": ${JSON.stringify(m.gatewayDigest)},`,
    `  "tenants": ${block(m.tenants)},`,
    `  "files": ${block(m.files)}`,
    '}',
    '',
  ].join('\n');
}

/** A tenant entry parsed by parseManifest keeps its line's text here (a symbol: JSON and Object.keys do not see it). */
const ENTRY_TEXT = Symbol('manifest line');

/** Whether two tenant entries read from manifest lines are byte-identical (false when either was not read by parseManifest). */
export function sameEntryText(a: object, b: object): boolean {
  const x = (a as { [ENTRY_TEXT]?: string })[ENTRY_TEXT];
  return x !== undefined && x === (b as { [ENTRY_TEXT]?: string })[ENTRY_TEXT];
}

const SUMMARY_KEY = ',"summary":';

/**
 * Reads manifest.json. In formatManifest's layout each tenant's summary (90 % of the file, 29 MB at 10,000
 * tenants, 270 ms for JSON.parse) is parsed only when read: apply looks at the summaries of changed tenants
 * only. Any other layout of valid JSON is parsed whole.
 */
export function parseManifest(text: string): Manifest {
  try {
    const m = readLines(text);
    if (m) return m;
  } catch {
    /* not formatManifest's layout after all: JSON.parse says what is wrong, if anything */
  }
  return JSON.parse(text) as Manifest;
}

/** `{"sha256":"<64 hex>","mode":"0644"}` as formatManifest writes it, without JSON.parse; anything else through it. */
function fileEntry(value: string): Manifest['files'][string] {
  if (value.length === 91 && value.startsWith('{"sha256":"') && value.startsWith('","mode":"', 75) && value.endsWith('"}') && !value.includes('\\')) return { sha256: value.slice(11, 75), mode: value.slice(85, 89) };
  return JSON.parse(value) as Manifest['files'][string];
}

/** A tenant entry's `{"digest":...,"file":...,"connections":[...]` (without summary), read by hand when it holds no escape. */
function tenantHead(head: string): Manifest['tenants'][string] {
  const f = head.indexOf('","file":"');
  const c = head.indexOf('","connections":[');
  if (head.startsWith('{"digest":"') && f === 75 && c > f && !head.includes('\\') && head.endsWith(']')) {
    const list = head.slice(c + 17, -1);
    const connections = list ? list.slice(1, -1).split('","') : [];
    return { digest: head.slice(11, 75), file: head.slice(f + 10, c), connections } as unknown as Manifest['tenants'][string];
  }
  return JSON.parse(`${head}}`) as Manifest['tenants'][string];
}

function readLines(text: string): Manifest | undefined {
  const lines = text.split('\n');
  const at = (i: number, want: string) => lines[i] === want;
  const field = (i: number, key: string): string | undefined => {
    const m = new RegExp(`^  "${key}": (".*"),$`).exec(lines[i] ?? '');
    return m ? (JSON.parse(m[1]) as string) : undefined;
  };
  const compiler = field(1, 'compiler');
  const gateway = field(2, 'gateway');
  const gatewayDigest = field(3, 'gatewayDigest');
  if (!at(0, '{') || compiler === undefined || gateway === undefined || gatewayDigest === undefined || !['  "tenants": {', '  "tenants": {},'].includes(lines[4])) return undefined;
  const tenants: Manifest['tenants'] = {};
  const files: Manifest['files'] = {};
  // One `    "key": {...}` line per entry; the block's closing line tells where it ends.
  const block = (start: number, into: Record<string, unknown>, read: (key: string, value: string) => unknown): number => {
    if (lines[start].endsWith('{},')|| lines[start].endsWith('{}')) return start + 1;
    let i = start + 1;
    for (; i < lines.length && lines[i].startsWith('    "'); i++) {
      const line = lines[i].endsWith(',') ? lines[i].slice(4, -1) : lines[i].slice(4);
      const colon = line.indexOf('": ');
      const raw = line.slice(0, colon + 1);
      // Names and paths rarely hold an escape: JSON.parse only when they do (20,000 keys at 10,000 tenants).
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      into[key] = read(key, line.slice(colon + 3));
    }
    if (lines[i] !== '  },' && lines[i] !== '  }') throw new SyntaxError(`manifest.json line ${i + 1}: expected the end of a block`);
    return i + 1;
  };
  const next = block(4, tenants, (key, value) => {
    const cut = value.indexOf(SUMMARY_KEY);
    if (cut < 0) return JSON.parse(value);
    const head = tenantHead(value.slice(0, cut));
    let summary: TenantSummary | undefined;
    // An object literal with a getter keeps one hidden class for 10,000 entries (defineProperty on each did not).
    return {
      digest: head.digest,
      file: head.file,
      connections: head.connections,
      get summary(): TenantSummary {
        if (summary) return summary;
        try {
          return (summary = (JSON.parse(value) as Manifest['tenants'][string]).summary);
        } catch {
          throw new Error(`manifest.json: tenant ${key}'s entry is not valid JSON`);
        }
      },
      [ENTRY_TEXT]: value,
    };
  });
  if (!['  "files": {', '  "files": {}'].includes(lines[next])) return undefined;
  const end = block(next, files, (_key, value) => fileEntry(value));
  if (lines[end] !== '}' || lines.slice(end + 1).some((l) => l.trim())) return undefined;
  return { compiler, gateway, gatewayDigest, tenants, files };
}

/** Every gateway's bundle, by gateway name order. */
export function bundleAll(model: Model, alloc: Allocations, keepRendered = false): Bundle[] {
  return [...model.gateways].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((g) => bundleGateway(model, g, alloc, keepRendered));
}
