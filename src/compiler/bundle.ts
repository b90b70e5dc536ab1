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
  const rendered = TARGETS.flatMap((t) => t.render({ model, gateway, tenants, alloc })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const files: BundleFile[] = rendered.map((f) => ({ path: f.path, content: text(f), mode: f.mode ?? 0o644 }));
  const perTenant = new Map<string, ReturnType<typeof createHash>>();
  const gw = createHash('sha256');
  for (const f of rendered) {
    for (const s of f.sections) {
      if (s.tenant === undefined) {
        gw.update(`${f.path}\0${s.text}`);
        continue;
      }
      let h = perTenant.get(s.tenant);
      if (!h) perTenant.set(s.tenant, (h = createHash('sha256')));
      h.update(`${f.path}\0${s.text}`);
    }
  }
  const manifest: Manifest = {
    compiler: `s2sgw ${VERSION}`,
    gateway: gateway.name,
    gatewayDigest: gw.digest('hex'),
    tenants: Object.fromEntries(
      tenants.map((t) => [
        t.name,
        { digest: perTenant.get(t.name)?.digest('hex') ?? sha256(''), file: t.file, connections: t.connections.map((c) => c.interface).sort(), summary: summarize(model, t, gateway, alloc) },
      ]),
    ),
    files: Object.fromEntries(files.map((f) => [f.path, { sha256: sha256(f.content), mode: f.mode.toString(8).padStart(4, '0') }])),
  };
  files.push({ path: MANIFEST, content: JSON.stringify(manifest, null, 2) + '\n', mode: 0o644 });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { gateway: gateway.name, files, ...(keepRendered ? { rendered } : {}), manifest };
}

/** Every gateway's bundle, by gateway name order. */
export function bundleAll(model: Model, alloc: Allocations, keepRendered = false): Bundle[] {
  return [...model.gateways].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((g) => bundleGateway(model, g, alloc, keepRendered));
}
