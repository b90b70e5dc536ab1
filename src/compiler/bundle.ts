// Bundle phase: every target's files for one gateway, plus manifest.json with sha256s and per-tenant digests. Pure.
import { createHash } from 'node:crypto';
import type { Gateway, Model } from './model';
import { tenantsOn } from './model';
import type { Allocations } from './lock';
import { TARGETS } from '../targets';
import { RenderedFile, text } from '../targets/target';
import { VERSION } from '../version';
import { summarize } from './summary';
import { BundleSource, formatManifest, Manifest, MANIFEST, summaryPath } from './manifest';

// manifest.json's format lives in manifest.ts (apply reads it without loading the compiler).
export { formatManifest, parseManifest, sameEntryText, MANIFEST, SUMMARIES, summaryPath } from './manifest';
export type { BundleSource, Manifest } from './manifest';

export interface BundleFile {
  path: string;
  content: string;
  mode: number;
}


export interface Bundle {
  gateway: string;
  files: BundleFile[];
  /** The targets' output with its sections; kept only when asked for (checks, tests): it doubles the bundle's memory. */
  rendered?: RenderedFile[];
  manifest: Manifest;
}


function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Renders one gateway's bundle in memory. Same model and source commit, same bytes (no time, no host name). */
export function bundleGateway(model: Model, gateway: Gateway, alloc: Allocations, keepRendered = false, source: BundleSource | null = null): Bundle {
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
  // Each tenant's summary is its own file (see SUMMARIES): a one-tenant change rewrites one small file, not the manifest's 26 MB.
  const summaries = new Map(tenants.map((t) => [t.name, summarize(t, gateway, alloc)]));
  for (const [name, summary] of summaries) files.push({ path: summaryPath(name), content: JSON.stringify(summary) + '\n', mode: 0o644 });
  files.sort(byPath);
  const manifest: Manifest = {
    compiler: `s2sgw ${VERSION}`,
    gateway: gateway.name,
    source,
    gatewayDigest: combine(gatewayParts),
    tenants: Object.fromEntries(tenants.map((t) => [t.name, { digest: combine(perTenant.get(t.name)), file: t.file, connections: t.connections.map((c) => c.interface).sort(), summary: summaries.get(t.name)! }])),
    files: Object.fromEntries(files.map((f) => [f.path, { sha256: sha256(f.content), mode: f.mode.toString(8).padStart(4, '0') }])),
  };
  files.push({ path: MANIFEST, content: formatManifest(manifest), mode: 0o644 });
  files.sort(byPath);
  return { gateway: gateway.name, files, ...(keepRendered ? { rendered: kept } : {}), manifest };
}

/** Records another source in a rendered bundle's manifest (build: the lock it writes is not the commit's). */
export function setSource(b: Bundle, source: BundleSource | null): void {
  b.manifest.source = source;
  const f = b.files.find((x) => x.path === MANIFEST)!;
  f.content = formatManifest(b.manifest);
}

/** Every gateway's bundle, by gateway name order. */
export function bundleAll(model: Model, alloc: Allocations, keepRendered = false, source: BundleSource | null = null): Bundle[] {
  return [...model.gateways].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((g) => bundleGateway(model, g, alloc, keepRendered, source));
}
