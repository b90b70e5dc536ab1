// allocations.lock.yaml: the numbers a host needs that the YAML does not give. Allocated once, never moved, never reused.
import * as fs from 'node:fs';
import * as path from 'node:path';
// yaml is loaded when a lock file needs it (see source.ts): `s2sgw apply` imports LOCK_FILE through commands/common.
import { yaml as yamlLib } from './source';
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
/** The last id of each kind: routing tables and XFRM if_ids are 32-bit, conntrack zones 16-bit. */
export const LIMIT = { table: 0xffffffff, zone: MAX_ZONE, ifId: 0xffffffff };

/**
 * Sets `obj[k]` as an own property, whatever `k` is: tenant and connection names are the tenant files' own words,
 * and `__proto__` must be a name like any other (a plain assignment would set the prototype). Readers look names
 * up with Object.hasOwn, so `constructor` is never Object.prototype's.
 */
function put<T>(obj: Record<string, T>, k: string, v: T): T {
  // Only `__proto__` is an accessor on Object.prototype: any other name assigns an own property, as defineProperty
  // would, and keeps the object out of V8's slow dictionary mode (defineProperty on 10,000 names was a tenth of plan's lock work).
  if (k === '__proto__') Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[k] = v;
  return v;
}

export function emptyLock(): Allocations {
  return { version: 1, next: { ...FIRST }, tenants: {} };
}

export function readLock(configDir: string): Allocations {
  const file = path.join(configDir, LOCK_FILE);
  if (!fs.existsSync(file)) return emptyLock();
  return parseLock(fs.readFileSync(file, 'utf8'));
}

/**
 * Reads the lock. The file is machine-written, so the layout formatLock() writes is read line by
 * line (at 10,000 tenants the yaml package's document took 1.5 s and made the validation after it
 * 40 % slower); anything else, such as a hand-edited file, goes through the YAML parser.
 */
export function parseLock(text: string, yaml = true): Allocations {
  const own = readOwnLayout(text);
  if (!own && !yaml) throw new Error(`${LOCK_FILE} is not in the layout s2sgw writes`);
  const data = (own ?? yamlLib().parseDocument(text).toJS()) as Allocations | null;
  if (!data || data.version !== 1 || !data.next || !data.tenants) throw new Error(`${LOCK_FILE} is not an s2sgw lock file (version 1)`);
  return data;
}

/** A key formatLock() writes without quotes, and the YAML parser reads back as the same string. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const YAML_WORD = /^(true|false|null|~|yes|no|on|off|y|n)$/i;
const plainKey = (k: string) => PLAIN_KEY.test(k) && !YAML_WORD.test(k) && k !== '__proto__';

/** The lock as formatLock() lays it out, or undefined for any other layout. */
function readOwnLayout(text: string): Allocations | undefined {
  const lines = text.split('\n');
  const out: Allocations = { version: 1, next: { ...FIRST }, tenants: {} };
  let section: 'top' | 'next' | 'tenants' = 'top';
  let tenant: TenantIds | undefined;
  let inIfIds = false;
  let version: number | undefined;
  for (const line of lines) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^( *)([^:\s]+):(?: (\d+|\{\}))?$/.exec(line);
    if (!m) return undefined;
    const [, indent, key, value] = m;
    const n = value === undefined || value === '{}' ? undefined : Number(value);
    if (!plainKey(key)) return undefined;
    if (indent === '') {
      inIfIds = false;
      tenant = undefined;
      if (key === 'version' && n !== undefined) version = n;
      else if (key === 'next' && value === undefined) section = 'next';
      else if (key === 'tenants' && (value === undefined || value === '{}')) section = 'tenants';
      else return undefined;
    } else if (indent === '  ' && section === 'next' && n !== undefined && (key === 'table' || key === 'zone' || key === 'ifId')) {
      out.next[key] = n;
    } else if (indent === '  ' && section === 'tenants' && value === undefined) {
      tenant = put(out.tenants, key, { table: NaN, zone: NaN, ifIds: {} });
      inIfIds = false;
    } else if (indent === '    ' && tenant && n !== undefined && (key === 'table' || key === 'zone')) {
      tenant[key] = n;
      inIfIds = false;
    } else if (indent === '    ' && tenant && key === 'ifIds' && (value === undefined || value === '{}')) {
      inIfIds = value === undefined;
    } else if (indent === '      ' && tenant && inIfIds && n !== undefined) {
      put(tenant.ifIds, key, n);
    } else {
      return undefined;
    }
  }
  if (version !== 1) return undefined;
  for (const t of Object.values(out.tenants)) if (Number.isNaN(t.table) || Number.isNaN(t.zone)) return undefined;
  return out;
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
    const old = Object.hasOwn(prev.tenants, name) ? prev.tenants[name] : undefined;
    let ids: TenantIds;
    if (old) ids = { table: old.table, zone: old.zone, ifIds: {} };
    else {
      if (next.zone > MAX_ZONE) throw new Error(`no conntrack zone left for tenant ${name}: zones are 16-bit and ${MAX_ZONE} have been allocated`);
      ids = { table: next.table++, zone: next.zone++, ifIds: {} };
      changes.push({ kind: 'add', what: `tenant ${name}: table ${ids.table}, zone ${ids.zone}` });
    }
    for (const c of [...t.connections].sort((a, b) => (a.interface < b.interface ? -1 : a.interface > b.interface ? 1 : 0))) {
      const had = old && Object.hasOwn(old.ifIds, c.interface) ? old.ifIds[c.interface] : undefined;
      if (had !== undefined) put(ids.ifIds, c.interface, had);
      else {
        put(ids.ifIds, c.interface, next.ifId++);
        changes.push({ kind: 'add', what: `connection ${name}/${c.interface}: if_id ${ids.ifIds[c.interface]}` });
      }
    }
    if (old) for (const iface of Object.keys(old.ifIds).sort()) if (!Object.hasOwn(ids.ifIds, iface)) changes.push({ kind: 'retire', what: `connection ${name}/${iface}: if_id ${old.ifIds[iface]} retired` });
    put(tenants, name, ids);
  }
  for (const name of Object.keys(prev.tenants).sort()) if (!byName.has(name)) changes.push({ kind: 'retire', what: `tenant ${name}: table ${prev.tenants[name].table}, zone ${prev.tenants[name].zone} retired` });
  return { alloc: { version: 1, next, tenants }, changes };
}

export function formatLock(alloc: Allocations): string {
  // Written line by line rather than through the yaml package's document (2 s and hundreds of MB
  // at 10,000 tenants); a key that YAML would read differently unquoted is quoted as yaml quotes it.
  const key = (k: string) => (plainKey(k) ? k : yamlLib().stringify({ [k]: 0 }, { lineWidth: 0 }).replace(/: 0\n$/, ''));
  const lines = [
    '# Written by s2sgw build: ids the gateway hosts need that the YAML does not give.',
    '# Commit it like a lock file. Ids never move and are never reused; do not edit by hand.',
    'version: 1',
    'next:',
    `  table: ${alloc.next.table}`,
    `  zone: ${alloc.next.zone}`,
    `  ifId: ${alloc.next.ifId}`,
  ];
  const names = Object.keys(alloc.tenants).sort();
  lines.push(names.length ? 'tenants:' : 'tenants: {}');
  for (const name of names) {
    const t = alloc.tenants[name];
    lines.push(`  ${key(name)}:`, `    table: ${t.table}`, `    zone: ${t.zone}`);
    const ifs = Object.keys(t.ifIds).sort();
    lines.push(ifs.length ? '    ifIds:' : '    ifIds: {}');
    for (const i of ifs) lines.push(`      ${key(i)}: ${t.ifIds[i]}`);
  }
  return lines.join('\n') + '\n';
}
