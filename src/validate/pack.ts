// The tenants' summaries for a warm `validate`, packed 16 to a cache entry by path (not thousands of `file` entries).
import type { Diagnostic } from '../model/diagnostics';
import type { Tenant } from '../model/model';
import { Cache, codeDigest, keyOf, restoreFile, sha256 } from '../util/cache';
import { pack, unpack } from './summary';

/** What a warm validate needs of an unchanged tenant file. */
export interface PackRecord {
  /** The tenant file's `file` key (path, kind, bytes, code): a record under another key is not this file's. */
  key: string;
  /** Its YAML and schema warnings. */
  diagnostics: Diagnostic[];
  /** summarize() of its entity. */
  entity: Tenant;
  /** Its findings of the tenant-scope rules with the gateway files of `gateways` (a key over their keys). */
  rules?: { gateways: string; found: Diagnostic[] };
}

/** A record as the shard holds it: the summary as pack() lists it. */
interface Stored {
  key: string;
  diagnostics: Diagnostic[];
  summary: unknown[];
  rules?: PackRecord['rules'];
}

const SHARDS = 16;

/**
 * Records already unpacked in this process, by the stored record they were made of: plan's base side opens a second
 * Pack over the same shards (the cache keeps them for the run), and its unchanged tenants are the same summaries.
 */
const unpacked = new WeakMap<Stored, PackRecord>();

/** Each path's shard number, worked out once a process (a sha256 per path; validate asks twice per file, plan four times). */
const shardNumbers = new Map<string, number>();

interface Shard {
  records: Record<string, Stored>;
  /** `records` is the cache's object for the run (plan's other side reads it too): copied before the first set(). */
  shared: boolean;
  /** Whether a record was set (or the shard was missing): the shard is written. */
  dirty: boolean;
  /** Records read in this run, their summaries unpacked and file names put back. */
  read: Map<string, PackRecord>;
}

/**
 * Every tenant file's summary record, in SHARDS entries of kind `pack` chosen by a hash of the file's path, so a
 * one-tenant change rewrites one sixteenth of them and a warm run reads SHARDS files and parses SHARDS JSON documents
 * instead of one entry per tenant. A shard's name is a key over the code digest and its number: it holds the records
 * of the last run that wrote it, each valid only for its own file key, so a record of another content, another
 * version of s2sgw or a shard cut short (the entry's checksum) is a miss, never used. Records of files that are gone
 * are dropped when a shard is written.
 */
export class Pack {
  private shards = new Map<number, Shard>();

  constructor(private readonly cache: Cache) {}

  private shardOf(file: string): { n: number; shard: Shard } {
    let n = shardNumbers.get(file);
    if (n === undefined) shardNumbers.set(file, (n = parseInt(sha256(file).slice(0, 2), 16) % SHARDS));
    return { n, shard: this.load(n) };
  }

  private load(n: number): Shard {
    let shard = this.shards.get(n);
    if (!shard) {
      const records = this.cache.getWith<Record<string, Stored>>('pack', shardKey(n), (body) => {
        const v = JSON.parse(body) as unknown;
        return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Stored>) : undefined;
      });
      shard = { records: records ?? {}, shared: !!records, dirty: !records, read: new Map() };
      this.shards.set(n, shard);
    }
    return shard;
  }

  /** The file's record when it was made from exactly these bytes (`key`), else undefined. */
  get(file: string, key: string): PackRecord | undefined {
    const { shard } = this.shardOf(file);
    const known = shard.read.get(file);
    if (known) return known.key === key ? known : undefined;
    const r = Object.hasOwn(shard.records, file) ? shard.records[file] : undefined;
    if (!r || typeof r !== 'object' || r.key !== key || !Array.isArray(r.diagnostics)) return undefined;
    const done = unpacked.get(r);
    if (done) {
      shard.read.set(file, done);
      return done;
    }
    let entity: Tenant;
    try {
      entity = unpack(r.summary, file);
    } catch {
      return undefined;
    }
    restoreFile(r.diagnostics, file);
    if (r.rules) restoreFile(r.rules, file);
    const rec: PackRecord = { key: r.key, diagnostics: r.diagnostics, entity, ...(r.rules ? { rules: r.rules } : {}) };
    shard.read.set(file, rec);
    unpacked.set(r, rec);
    return rec;
  }

  set(file: string, record: PackRecord): void {
    const { shard } = this.shardOf(file);
    if (shard.shared) {
      shard.records = { ...shard.records };
      shard.shared = false;
    }
    shard.records[file] = { key: record.key, diagnostics: record.diagnostics, summary: pack(record.entity), ...(record.rules ? { rules: record.rules } : {}) };
    shard.read.set(file, record);
    shard.dirty = true;
  }

  /** Writes every shard that changed, with the records of `present` files only. */
  write(present: Set<string>): void {
    // Every shard, so that one whose files are all gone is emptied too (a miss costs one failed open).
    for (let n = 0; n < SHARDS; n++) this.load(n);
    for (const [n, shard] of this.shards) {
      const keep: Record<string, Stored> = {};
      let dropped = false;
      for (const file of Object.keys(shard.records).sort()) {
        if (present.has(file)) keep[file] = shard.records[file];
        else dropped = true;
      }
      if ((!shard.dirty && !dropped) || (!dropped && Object.keys(keep).length === 0 && Object.keys(shard.records).length === 0)) continue;
      const parts = Object.keys(keep).map((file) => `${JSON.stringify(file)}:${Cache.json(keep[file], file)}`);
      this.cache.putText('pack', shardKey(n), `{${parts.join(',')}}`);
    }
  }
}

const shardKey = (n: number) => keyOf('pack', codeDigest(), String(n));
