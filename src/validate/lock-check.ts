// allocations.lock.yaml arrives in the same pull request as the tenant files: it is checked as strictly as one of them.
import { LineCounter, parseDocument } from 'yaml';
import { Diagnostic, error, warning } from '../model/diagnostics';
import { Allocations, emptyLock, FIRST, LIMIT, LOCK_FILE, parseLock } from '../model/lock';
import type { Model } from '../model/model';
import { SourceFile, locate, Path, PARSE_OPTIONS } from '../model/source';
import { MAX_ALIAS_COUNT, MAX_LOCK_BYTES } from '../model/load';

type Kind = 'table' | 'zone' | 'ifId';

const TENANT = /^[a-z][a-z0-9-]{0,14}$/;
const CONNECTION = /^[A-Za-z0-9_-]{1,15}$/;
/** Routing tables the kernel gives a meaning (unspec, default, main, local): never a tenant's VRF. */
const RESERVED_TABLES = new Set([0, 253, 254, 255]);
const WHAT: Record<Kind, string> = { table: 'VRF routing table', zone: 'conntrack zone', ifId: 'XFRM if_id' };

interface Finding {
  code: string;
  path: Path;
  which?: 'key' | 'value';
  message: string;
  hint?: string;
  related?: { path: Path; message: string };
  warn?: boolean;
}

export interface CheckedLock {
  /** The allocations to build on: the file's, or an empty lock when there is none or it is refused. */
  lock: Allocations;
  diagnostics: Diagnostic[];
}

/**
 * Checks the lock file's text against the model: its shape, every id inside its range and below
 * `next`, no reserved routing table, no id given twice, and every entry owned by a tenant (and
 * connection) of the repository. `tenantFiles` are the stems of every tenant file, valid or not,
 * so an entry of a tenant whose file has other errors is not called unowned. Pure.
 */
export function checkLock(raw: Buffer | number | string | undefined, model: Model, tenantFiles: Set<string>): CheckedLock {
  if (raw === undefined) return { lock: emptyLock(), diagnostics: [] };
  const at1 = { file: LOCK_FILE, line: 1, col: 1 };
  if (typeof raw === 'number' || raw.length > MAX_LOCK_BYTES) {
    return { lock: emptyLock(), diagnostics: [error('lock/invalid', at1, `the lock file is ${typeof raw === 'number' ? raw : raw.length} bytes; the limit is ${MAX_LOCK_BYTES} bytes (64 MiB)`, { hint: `restore ${LOCK_FILE} from Git; it is written by s2sgw build` })] };
  }
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  const source = lockSource(text);
  const place = (p: Path, which: 'key' | 'value' = 'value') => locate(source(), p, which);
  const toDiag = (f: Finding): Diagnostic => {
    const extra = { ...(f.hint ? { hint: f.hint } : {}), related: f.related ? [{ ...place(f.related.path), message: f.related.message }] : [] };
    return f.warn ? warning(f.code, place(f.path, f.which), f.message, extra) : error(f.code, place(f.path, f.which), f.message, extra);
  };
  let data: unknown;
  try {
    data = parseLock(text, false);
  } catch {
    // Not the layout s2sgw writes: read it as YAML, with the same guards as a tenant file.
    const doc = source().doc!;
    if (doc.errors.length) {
      const e = doc.errors[0];
      return { lock: emptyLock(), diagnostics: [error('lock/invalid', { ...place([]), ...source().lineCounter.linePos(e.pos[0]), file: LOCK_FILE }, `the lock file is not valid YAML: ${e.message.split('\n')[0]}`, { hint: `restore ${LOCK_FILE} from Git; it is written by s2sgw build` })] };
    }
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch {
      return { lock: emptyLock(), diagnostics: [error('lock/invalid', at1, 'the lock file uses YAML aliases that expand to too much data')] };
    }
  }
  const shape = checkShape(data);
  if (shape.length) return { lock: emptyLock(), diagnostics: shape.map(toDiag) };
  const lock = data as Allocations;
  const findings = [...checkIds(lock), ...checkOwners(lock, model, tenantFiles)];
  return { lock, diagnostics: findings.map(toDiag) };
}

/** A SourceFile for the lock's text, parsed only when a finding needs a place (the lock of 10,000 tenants is 1.5 s of YAML). */
function lockSource(text: string): () => SourceFile {
  let file: SourceFile | undefined;
  return () => {
    if (!file) {
      const lineCounter = new LineCounter();
      const doc = parseDocument(text, { ...PARSE_OPTIONS, lineCounter });
      file = { path: LOCK_FILE, kind: 'tenant', stem: 'allocations.lock', text, lineCounter, doc };
    }
    return file;
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isId = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v);

function checkShape(data: unknown): Finding[] {
  const out: Finding[] = [];
  const bad = (path: Path, message: string, which: 'key' | 'value' = 'value') => out.push({ code: 'lock/invalid', path, which, message, hint: `restore ${LOCK_FILE} from Git or run \`s2sgw build\`; the file is written by s2sgw, not by hand` });
  if (!isObject(data)) return [{ code: 'lock/invalid', path: [], message: 'the lock file is not a mapping; it is not an s2sgw lock file', hint: `restore ${LOCK_FILE} from Git` }];
  const keys = (o: Record<string, unknown>, path: Path, allowed: string[]) => {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) bad([...path, k], `unknown key \`${printKey(k)}\` in the lock file${path.length ? ` under \`${path.join('.')}\`` : ''}`, 'key');
    for (const k of allowed) if (!(k in o)) bad(path, `\`${k}\` is missing${path.length ? ` under \`${path.join('.')}\`` : ''}`, 'key');
  };
  keys(data, [], ['version', 'next', 'tenants']);
  if (data.version !== undefined && data.version !== 1) bad(['version'], `version must be 1, got ${printKey(String(data.version))}`);
  if (data.next !== undefined) {
    if (!isObject(data.next)) bad(['next'], '`next` must be a mapping of table, zone and ifId');
    else {
      keys(data.next, ['next'], ['table', 'zone', 'ifId']);
      for (const k of ['table', 'zone', 'ifId'] as Kind[]) if (k in data.next && !isId(data.next[k])) bad(['next', k], `\`next.${k}\` must be a whole number`);
    }
  }
  if (data.tenants !== undefined) {
    if (!isObject(data.tenants)) bad(['tenants'], '`tenants` must be a mapping of tenant names');
    else
      for (const [name, t] of Object.entries(data.tenants)) {
        if (!TENANT.test(name)) bad(['tenants', name], `\`${printKey(name)}\` is not a tenant name (1 to 15 characters of a-z, 0-9 and -, starting with a letter)`, 'key');
        if (!isObject(t)) {
          bad(['tenants', name], `tenant \`${printKey(name)}\` must be a mapping of table, zone and ifIds`);
          continue;
        }
        keys(t, ['tenants', name], ['table', 'zone', 'ifIds']);
        for (const k of ['table', 'zone'] as const) if (k in t && !isId(t[k])) bad(['tenants', name, k], `\`${k}\` of tenant ${printKey(name)} must be a whole number`);
        if (t.ifIds === undefined) continue;
        if (!isObject(t.ifIds)) {
          bad(['tenants', name, 'ifIds'], `\`ifIds\` of tenant ${printKey(name)} must be a mapping of connection names to numbers`);
          continue;
        }
        for (const [iface, id] of Object.entries(t.ifIds)) {
          if (!CONNECTION.test(iface)) bad(['tenants', name, 'ifIds', iface], `\`${printKey(iface)}\` is not a connection interface name`, 'key');
          if (!isId(id)) bad(['tenants', name, 'ifIds', iface], `the if_id of ${printKey(name)}/${printKey(iface)} must be a whole number`);
        }
      }
  }
  return out;
}

function checkIds(lock: Allocations): Finding[] {
  const out: Finding[] = [];
  for (const kind of ['table', 'zone', 'ifId'] as Kind[]) {
    const n = lock.next[kind];
    if (n < FIRST[kind] || n > LIMIT[kind] + 1) out.push({ code: 'lock/out-of-range', path: ['next', kind], message: `\`next.${kind}\` is ${n}; ${WHAT[kind]}s s2sgw allocates run from ${FIRST[kind]} to ${LIMIT[kind]}`, hint: `restore ${LOCK_FILE} from Git; it is written by s2sgw build` });
  }
  const seen = { table: new Map<number, Path>(), zone: new Map<number, Path>(), ifId: new Map<number, Path>() };
  const claim = (kind: Kind, id: number, path: Path, who: string) => {
    if (kind === 'table' && RESERVED_TABLES.has(id)) {
      out.push({ code: 'lock/reserved-id', path, message: `${who} has routing table ${id}, which the kernel reserves (${id === 0 ? 'unspecified' : id === 253 ? 'default' : id === 254 ? 'main' : 'local'}); a tenant's VRF never uses it`, hint: `restore ${LOCK_FILE} from Git; tables s2sgw allocates start at ${FIRST.table}` });
    } else if (id < FIRST[kind] || id > LIMIT[kind]) {
      out.push({ code: 'lock/out-of-range', path, message: `${who} has ${WHAT[kind]} ${id}, outside the range s2sgw allocates (${FIRST[kind]} to ${LIMIT[kind]})`, hint: `restore ${LOCK_FILE} from Git; it is written by s2sgw build` });
    } else if (id >= lock.next[kind]) {
      out.push({ code: 'lock/out-of-range', path, message: `${who} has ${WHAT[kind]} ${id}, not below \`next.${kind}\` (${lock.next[kind]}): the next new ${kind === 'ifId' ? 'connection' : 'tenant'} would be given it too`, hint: `restore ${LOCK_FILE} from Git; it is written by s2sgw build` });
    }
    const first = seen[kind].get(id);
    if (first) out.push({ code: 'lock/duplicate-id', path, message: `${who} has ${WHAT[kind]} ${id}, which the lock already gives to another ${kind === 'ifId' ? 'connection' : 'tenant'}`, hint: 'two tenants on one id share routes, connection tracking or tunnels; restore the lock from Git', related: { path: first, message: `${WHAT[kind]} ${id} is first given here` } });
    else seen[kind].set(id, path);
  };
  for (const name of Object.keys(lock.tenants).sort()) {
    const t = lock.tenants[name];
    claim('table', t.table, ['tenants', name, 'table'], `tenant ${name}`);
    claim('zone', t.zone, ['tenants', name, 'zone'], `tenant ${name}`);
    for (const iface of Object.keys(t.ifIds).sort()) claim('ifId', t.ifIds[iface], ['tenants', name, 'ifIds', iface], `connection ${name}/${iface}`);
  }
  return out;
}

function checkOwners(lock: Allocations, model: Model, tenantFiles: Set<string>): Finding[] {
  const out: Finding[] = [];
  const tenants = new Map(model.tenants.map((t) => [t.name, t]));
  for (const name of Object.keys(lock.tenants).sort()) {
    const t = tenants.get(name);
    if (!t) {
      if (!tenantFiles.has(name)) out.push({ code: 'lock/unknown-tenant', path: ['tenants', name], which: 'key', warn: true, message: `the lock holds ids for tenant ${name}, which has no tenant file; \`s2sgw build\` retires them`, hint: 'run `s2sgw build` and commit the lock with the tenant file\'s removal (`build --locked` refuses until then)' });
      continue;
    }
    const conns = new Set(t.connections.map((c) => c.interface));
    for (const iface of Object.keys(lock.tenants[name].ifIds).sort()) {
      if (!conns.has(iface)) out.push({ code: 'lock/unknown-connection', path: ['tenants', name, 'ifIds', iface], which: 'key', warn: true, message: `the lock holds an if_id for ${name}/${iface}, which tenant ${name} does not have; \`s2sgw build\` retires it`, hint: 'run `s2sgw build` and commit the lock with the tenant change (`build --locked` refuses until then)' });
    }
  }
  return out;
}

/** A key from the lock as it may be printed: no control characters or line breaks. */
function printKey(k: string): string {
  return /^[\x20-\x7e]*$/.test(k) ? k : JSON.stringify(k).slice(1, -1);
}
