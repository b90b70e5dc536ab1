// The parts index (entry kind `partsindex`): per gateway, what every tenant's `parts` entry says of its parts, in one
// entry, so plan reads one file instead of 10,000 and reads a tenant's texts only where a diff shows them.
import { TARGETS } from '../targets';
import { Cache, codeDigest, keyOf } from '../util/cache';

/** A part as a `parts` entry's line 1 lists it: path, mode (null: 0644), slot, length of its text, newlines in it. */
export type PartHead = [string, number | null, number, number, number];

/** What the index records of a tenant: its render key, digest, summary file's sha256 and its parts per target. */
export interface TenantParts {
  key: string;
  digest: string;
  summarySha: string;
  targets: Record<string, PartHead[]>;
}

/** A part as the index holds it: its path a number into the index's `paths`. */
export type StoredPart = [number, number | null, number, number, number];

/** A tenant's record as read (checked, not copied): its parts per target in TARGETS order, paths by number. */
export interface IndexRecord {
  key: string;
  digest: string;
  summarySha: string;
  parts: StoredPart[][];
  paths: string[];
}

/** The record's parts with their paths (for writing the index again). */
export function headsOf(r: IndexRecord): Record<string, PartHead[]> {
  const out: Record<string, PartHead[]> = {};
  TARGETS.forEach((x, i) => (out[x.name] = r.parts[i].map(([n, mode, slot, len, lines]) => [r.paths[n], mode, slot, len, lines])));
  return out;
}

/** A record as the entry holds it. */
type Stored = [string, string, string, StoredPart[][]];

interface Body {
  targets: string[];
  paths: string[];
  tenants: Record<string, Stored>;
}

/**
 * A gateway's parts index as the last run that wrote it left it. A record is used only under the render key the
 * tenant has now (its gateway file, tenant file, lock entries and the code), so a record of another content is a miss;
 * the entry's checksum (Cache) makes a cut or damaged index a miss as a whole.
 */
export class PartsIndex {
  private constructor(private readonly body: Body) {}

  /**
   * The gateway's index, or undefined when there is none or it is not one (a miss, never used). `keep`: kept for the
   * run (plan's other side reads it too); build only counts its stale records and lets it go.
   */
  static read(cache: Cache, gateway: string, keep = true): PartsIndex | undefined {
    return cache.getWith<PartsIndex>(KIND, indexKey(gateway), (text) => {
      const b = JSON.parse(text) as Body;
      if (b === null || typeof b !== 'object' || !Array.isArray(b.paths) || !b.paths.every((p) => typeof p === 'string')) return undefined;
      if (!Array.isArray(b.targets) || b.targets.join('\0') !== TARGETS.map((x) => x.name).join('\0')) return undefined;
      if (b.tenants === null || typeof b.tenants !== 'object' || Array.isArray(b.tenants)) return undefined;
      return new PartsIndex(b);
    }, keep);
  }

  /** The tenant's record when it was made under `key`, else undefined. The same object for the same record (plan's two sides share it). */
  get(tenant: string, key: string): IndexRecord | undefined {
    const s = Object.hasOwn(this.body.tenants, tenant) ? this.body.tenants[tenant] : undefined;
    if (!Array.isArray(s) || s[0] !== key) return undefined;
    const known = records.get(s);
    if (known) return known;
    const [, digest, summarySha, parts] = s;
    if (typeof digest !== 'string' || typeof summarySha !== 'string' || !/^[0-9a-f]{64}$/.test(summarySha) || !Array.isArray(parts) || parts.length !== TARGETS.length) return undefined;
    const paths = this.body.paths;
    for (const list of parts) {
      if (!Array.isArray(list)) return undefined;
      for (const p of list) {
        if (!Array.isArray(p) || p.length !== 5) return undefined;
        const [n, mode, slot, len, lines] = p;
        if (!Number.isInteger(n) || n < 0 || n >= paths.length || (mode !== null && !Number.isInteger(mode)) || !(Number.isInteger(slot) && slot >= 0 && Number.isInteger(len) && len >= 0 && Number.isInteger(lines) && lines >= 0 && lines <= len)) return undefined;
      }
    }
    const r: IndexRecord = { key, digest, summarySha, parts, paths };
    records.set(s, r);
    return r;
  }

  /** How many of `tenants` (name and render key) the index does not hold as they are, plus the records of others. */
  stale(tenants: Map<string, string>): number {
    let n = 0;
    for (const [name, key] of tenants) {
      const s = Object.hasOwn(this.body.tenants, name) ? this.body.tenants[name] : undefined;
      if (!Array.isArray(s) || s[0] !== key) n++;
    }
    for (const name of Object.keys(this.body.tenants)) if (!tenants.has(name)) n++;
    return n;
  }
}

/** Records already made of a stored record (plan's two sides read the same index: the cache keeps it for the run). */
const records = new WeakMap<Stored, IndexRecord>();

/** Writes a gateway's index of exactly these records (tenant name, record), in the order given. */
export function writeIndex(cache: Cache, gateway: string, recs: Array<[string, TenantParts]>): void {
  const paths = new Map<string, number>();
  const num = (p: string) => {
    let n = paths.get(p);
    if (n === undefined) paths.set(p, (n = paths.size));
    return n;
  };
  const tenants: string[] = [];
  for (const [name, r] of recs) {
    const parts = TARGETS.map((x) => (r.targets[x.name] ?? []).map(([p, mode, slot, len, lines]) => [num(p), mode, slot, len, lines]));
    tenants.push(`${JSON.stringify(name)}:${JSON.stringify([r.key, r.digest, r.summarySha, parts])}`);
  }
  cache.putText(KIND, indexKey(gateway), `{"targets":${JSON.stringify(TARGETS.map((x) => x.name))},"paths":${JSON.stringify([...paths.keys()])},"tenants":{${tenants.join(',')}}}`);
}

const KIND = 'partsindex';
const indexKey = (gateway: string) => keyOf(KIND, codeDigest(), gateway);
