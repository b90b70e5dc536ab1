// allocations.lock.yaml: the numbers a host needs that the YAML does not give. Allocated once, never moved, never reused.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import type { Model } from './model';

export const LOCK_FILE = 'allocations.lock.yaml';

export interface TenantIds {
  /** VRF routing table id. */
  table: number;
  /** conntrack zone (16-bit). */
  zone: number;
  /** XFRM interface if_id per connection interface name. */
  ifIds: Record<string, number>;
}

export interface Allocations {
  version: 1;
  /** The next id of each kind; ids below it that no tenant holds are retired for good. */
  next: { table: number; zone: number; ifId: number };
  tenants: Record<string, TenantIds>;
}

/** Table ids start above the kernel's reserved ones (253-255) and common hand-made tables. */
export const FIRST = { table: 1001, zone: 1, ifId: 1 };
export const MAX_ZONE = 65535;

export function emptyLock(): Allocations {
  return { version: 1, next: { ...FIRST }, tenants: {} };
}

export function readLock(configDir: string): Allocations {
  const file = path.join(configDir, LOCK_FILE);
  if (!fs.existsSync(file)) return emptyLock();
  return parseLock(fs.readFileSync(file, 'utf8'));
}

export function parseLock(text: string): Allocations {
  const data = parseDocument(text).toJS() as Allocations | null;
  if (!data || data.version !== 1 || !data.next || !data.tenants) throw new Error(`${LOCK_FILE} is not an s2sgw lock file (version 1)`);
  return data;
}

export interface LockChange {
  kind: 'add' | 'retire';
  what: string;
}

/**
 * Allocates ids for every tenant and connection in the model that has none, in sorted order, and
 * drops tenants and connections that are gone (their ids stay retired: `next` never goes down). Pure.
 */
export function allocate(model: Model, prev: Allocations): { alloc: Allocations; changes: LockChange[] } {
  const next = { ...prev.next };
  const changes: LockChange[] = [];
  const tenants: Record<string, TenantIds> = {};
  const names = model.tenants.map((t) => t.name).sort();
  const byName = new Map(model.tenants.map((t) => [t.name, t]));
  for (const name of names) {
    const t = byName.get(name)!;
    const old = prev.tenants[name];
    let ids: TenantIds;
    if (old) ids = { table: old.table, zone: old.zone, ifIds: {} };
    else {
      if (next.zone > MAX_ZONE) throw new Error(`no conntrack zone left for tenant ${name}: zones are 16-bit and ${MAX_ZONE} have been allocated`);
      ids = { table: next.table++, zone: next.zone++, ifIds: {} };
      changes.push({ kind: 'add', what: `tenant ${name}: table ${ids.table}, zone ${ids.zone}` });
    }
    for (const c of [...t.connections].sort((a, b) => (a.interface < b.interface ? -1 : a.interface > b.interface ? 1 : 0))) {
      const had = old?.ifIds[c.interface];
      if (had !== undefined) ids.ifIds[c.interface] = had;
      else {
        ids.ifIds[c.interface] = next.ifId++;
        changes.push({ kind: 'add', what: `connection ${name}/${c.interface}: if_id ${ids.ifIds[c.interface]}` });
      }
    }
    if (old) for (const iface of Object.keys(old.ifIds).sort()) if (!(iface in ids.ifIds)) changes.push({ kind: 'retire', what: `connection ${name}/${iface}: if_id ${old.ifIds[iface]} retired` });
    tenants[name] = ids;
  }
  for (const name of Object.keys(prev.tenants).sort()) if (!byName.has(name)) changes.push({ kind: 'retire', what: `tenant ${name}: table ${prev.tenants[name].table}, zone ${prev.tenants[name].zone} retired` });
  return { alloc: { version: 1, next, tenants }, changes };
}

export function formatLock(alloc: Allocations): string {
  const sorted = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  const tenants = Object.fromEntries(
    Object.keys(alloc.tenants)
      .sort()
      .map((k) => [k, { table: alloc.tenants[k].table, zone: alloc.tenants[k].zone, ifIds: sorted(alloc.tenants[k].ifIds) }]),
  );
  const body = stringify({ version: 1, next: { table: alloc.next.table, zone: alloc.next.zone, ifId: alloc.next.ifId }, tenants }, { lineWidth: 0 });
  return `# Written by s2sgw build: ids the gateway hosts need that the YAML does not give.\n# Commit it like a lock file. Ids never move and are never reused; do not edit by hand.\n${body}`;
}
