// Schema phase: checks each file against schema/*.schema.json with ajv and turns ajv's errors into
// sentences a network engineer understands, placed at the offending YAML node.
import type { ErrorObject } from 'ajv/dist/2020';
import { closest, distance } from 'fastest-levenshtein';
import { Diagnostic, error } from '../model/diagnostics';
import { SourceFile, locate, Path } from '../model/source';
import { hostBitsClear, isInterfaceAddress, networkOf } from '../model/formats';
import { unknownKeyword } from '../model/algorithms';

/** An ajv validator: whether `data` is valid, and (when not) its errors. */
type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

let compiled: { gateway: Validator; tenant: Validator } | undefined;

/**
 * The validators of schema/gateway.schema.json and schema/tenant.schema.json, as ajv compiles them with SCHEMA_OPTIONS
 * and the FORMATS of src/model/formats.ts, compiled ahead into src/validate/schema-code.ts (scripts/schema-code.js;
 * test/schema-code.test.ts keeps it current): compiling them cost every process about 0.1 s of CPU, and ajv's compiler
 * as many modules again to load.
 */
function validators(): { gateway: Validator; tenant: Validator } {
  return (compiled ??= require('./schema-code') as { gateway: Validator; tenant: Validator });
}

/** Validates every parsed file; files without data (YAML errors) are skipped, they have their diagnostics already. */
export function validateSchema(files: SourceFile[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const f of files) {
    if (f.data === undefined) continue;
    const v = validators()[f.kind];
    if (v(f.data)) continue;
    out.push(...explain(f, v.errors ?? []));
  }
  return out;
}

function pathOf(instancePath: string): Path {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}

/** `connections[0].routes[1].to` */
export function showPath(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s || '(top level)';
}

const TYPE_NAMES: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'text',
  array: 'a list',
  object: 'a mapping of keys to values',
  boolean: 'true or false',
  null: 'empty',
};

function describe(value: unknown): string {
  if (value === HIDDEN) return 'a value not shown here (it may be a secret)';
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `\`${shown(value)}\``;
  return String(value);
}

/** A value as a message may echo it: at most 60 characters, control characters and line breaks escaped (a message must not start a line of its own). */
export function shown(value: string): string {
  const cut = value.length > 60 ? `${value.slice(0, 60)}… (${value.length.toLocaleString('en-US')} characters)` : value;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029`]/g, (c) => (c === '`' ? "'" : JSON.stringify(c).slice(1, -1).replace(/^\\u00/, '\\x')));
}

function typeName(value: unknown): string {
  if (value === HIDDEN) return 'a value not shown here (it may be a secret)';
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? `the number ${value}` : `the number ${value}`;
  if (typeof value === 'boolean') return `\`${value}\``;
  return `the text \`${shown(String(value))}\``;
}

const PATTERN_TEXT: Record<string, string> = {
  '^[a-z][a-z0-9-]{0,14}$': 'a tenant name: 1 to 15 characters of a-z, 0-9 and -, starting with a letter (it becomes the VRF device name)',
  '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$': 'a gateway host name: a-z, 0-9 and -, not starting or ending with -',
  '^[A-Za-z0-9_.-]{1,15}$': 'a Linux interface name: 1 to 15 characters of A-Z, a-z, 0-9, _, . and -',
  '^[A-Za-z0-9_.*?!\\[\\]-]{1,32}$': 'a glob pattern of device names: 1 to 32 characters of A-Z, a-z, 0-9, _, ., -, and the wildcards *, ? and [ ]',
  '^[1-9][0-9]{0,6}[smhd]$': 'a duration: a whole number and a unit s, m, h or d, like 30s or 8h',
  '^(?:\\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\\}|[a-z0-9][a-z0-9._-]{0,62})$':
    'a GUID in braces, like {12345678-1000-2000-3000-123456780001}, or a label of 1 to 63 characters of a-z, 0-9, ., _ and - (a GUID needs its braces)',
  '^/[^\\s"\'\\\\;{}#,]*$': 'an absolute path on the gateway host, without spaces, quotes, ;, { }, # or commas',
  '^[A-Za-z0-9_-]{1,15}$': 'a connection interface name: 1 to 15 characters of A-Z, a-z, 0-9, _ and - (no dot: it is also a strongSwan connection name)',
  '^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029"\'\\\\{}]+=[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029"\'\\\\{}]+$': 'a certificate subject DN like "CN=ny.contoso.example, O=Contoso", without control characters, line breaks, quotes, backslashes or braces (they would end the value in swanctl.conf)',
};

/** 10000000 -> 10,000,000; small numbers as they are (4094). */
function num(n: unknown): string {
  return typeof n === 'number' && Math.abs(n) >= 10000 ? n.toLocaleString('en-US') : String(n);
}

function isIntegerRange(ps: Record<string, unknown>): boolean {
  return ps.type === 'integer' && typeof ps.minimum === 'number' && typeof ps.maximum === 'number';
}

/** Turns ajv errors for one file into diagnostics; one per offending node, the most telling error first. */
function explain(file: SourceFile, errors: ErrorObject[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  // A failed anyOf (ports) reports each branch too: keep the anyOf's own error only.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  // A misspelt key is reported once, as unknown (with "did you mean"), not also as the required key it was meant to be.
  const unknownKeys = errors.filter((e) => e.keyword === 'additionalProperties').map((e) => ({ at: e.instancePath, key: (e.params as { additionalProperty: string }).additionalProperty }));
  const typo = (e: ErrorObject) => {
    if (e.keyword !== 'required') return false;
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return unknownKeys.some((u) => u.at === e.instancePath && similar(u.key, missing));
  };
  // A value over its length cap is reported as too long only: its pattern or format error would echo it.
  const tooLong = new Set(errors.filter((e) => e.keyword === 'maxLength').map((e) => e.instancePath));
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && anyOfPaths.has(e.instancePath) && e.schemaPath.includes('/anyOf/')) continue;
    if (e.keyword !== 'maxLength' && tooLong.has(e.instancePath)) continue;
    if (typo(e)) continue;
    const d = explainOne(file, e);
    if (d) out.push(d);
  }
  return out;
}

/**
 * Is this the place of a secret, or of what may be one? Anything under a connection's `auth` but the
 * certificate and the EAP method (a mistyped `pks:`, `auth: <the key>`), and the gateway's private
 * key path (a pasted PEM key). Its value is never echoed.
 */
function isSecretPath(path: Path): boolean {
  const n = path.length;
  if (path[0] === 'identity' && path[1] === 'privateKey') return true;
  const i = path.indexOf('auth');
  if (i < 0 || path[0] !== 'connections') return false;
  return path[i + 1] !== 'certificate' && !(path[i + 1] === 'eap' && path[i + 2] === 'method' && n === i + 3);
}

function explainOne(file: SourceFile, e: ErrorObject): Diagnostic | undefined {
  const path = pathOf(e.instancePath);
  // Keys are not secret: a message about which keys `auth` holds may name them.
  if (isSecretPath(path) && !['minProperties', 'maxProperties', 'additionalProperties', 'required'].includes(e.keyword)) {
    const d = explainPlain(file, path, { ...e, data: HIDDEN });
    return d && { ...d, secret: true };
  }
  return explainPlain(file, path, e);
}

/** Stands in for a secret's value in messages. */
const HIDDEN = Symbol('hidden');

function explainPlain(file: SourceFile, path: Path, e: ErrorObject): Diagnostic | undefined {
  const name = showPath(path);
  const last = path[path.length - 1];
  const field = typeof last === 'string' ? `\`${last}\`` : `\`${name}\``;
  const ps = (e.parentSchema ?? {}) as Record<string, unknown>;
  const value = e.data;
  const at = (p: Path = path, which: 'key' | 'value' = 'value') => locate(file, p, which);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys((ps.properties as object) ?? {});
      const guess = allowed.length ? closest(key, allowed) : undefined;
      const where = path.length ? ` in \`${name}\`` : '';
      return error('schema/unknown-key', at([...path, key], 'key'), `unknown key \`${key}\`${where}`, {
        hint: `${guess && similar(key, guess) ? `did you mean \`${guess}\`? ` : ''}allowed here: ${allowed.join(', ')}`,
      });
    }
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const where = path.length ? `\`${name}\`` : 'the file';
      const desc = ((ps.properties as Record<string, { description?: string }>)?.[missing]?.description ?? '').split('.')[0];
      return error('schema/required', path.length ? at(path, 'key') : at([]), `${where} is missing \`${missing}\``, desc ? { hint: `\`${missing}\`: ${desc}` } : {});
    }
    case 'type': {
      const want = (e.params as { type: string }).type;
      const range = isIntegerRange(ps) ? ` from ${num(ps.minimum)} to ${num(ps.maximum)}` : '';
      const quoted = typeof value === 'string' && (want === 'integer' || want === 'number') && /^-?[0-9]+$/.test(value.trim());
      return error('schema/type', at(), `${field} must be ${TYPE_NAMES[want] ?? want}${range}, got ${typeName(value)}`, quoted ? { hint: `write ${value.trim()} without quotes` } : {});
    }
    case 'minimum':
    case 'maximum': {
      const isPort = ps.maximum === 65535 && ps.minimum === 1;
      const text = isIntegerRange(ps) ? `a whole number from ${num(ps.minimum)} to ${num(ps.maximum)}` : `${e.keyword === 'minimum' ? 'at least' : 'at most'} ${num((e.params as { limit: number }).limit)}`;
      return error(isPort ? 'schema/port' : 'schema/range', at(), `${field} must be ${text}, got ${num(value)}`);
    }
    case 'pattern': {
      const text = PATTERN_TEXT[(e.params as { pattern: string }).pattern] ?? `text matching ${(e.params as { pattern: string }).pattern}`;
      return error('schema/pattern', at(), `${field} must be ${text}, got ${describe(value)}`);
    }
    case 'format':
      return explainFormat(file, path, field, (e.params as { format: string }).format, String(value));
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const guess = typeof value === 'string' ? closest(value, allowed) : undefined;
      return error('schema/enum', at(), `${field} must be one of ${allowed.join(', ')}, got ${describe(value)}`, guess && typeof value === 'string' && similar(value, guess) ? { hint: `did you mean \`${guess}\`?` } : {});
    }
    case 'maxLength': {
      const limit = (e.params as { limit: number }).limit;
      return error('schema/too-long', at(), `${field} is ${num(String(value).length)} characters long; at most ${num(limit)} are allowed here`, { hint: 'a value this long is not what this field holds; check what wrote it' });
    }
    case 'minItems':
      return error('schema/min-items', at(), `${field} must list at least ${(e.params as { limit: number }).limit} item${(e.params as { limit: number }).limit === 1 ? '' : 's'}`);
    case 'uniqueItems': {
      const { i, j } = e.params as { i: number; j: number };
      const first = at([...path, j]);
      return error('schema/duplicate-item', at([...path, i]), `${field} lists the same item twice`, { related: [{ ...first, message: 'first listed here' }] });
    }
    case 'propertyNames':
      // The key's own error (its pattern, at the key) says what is wrong; this one only says "invalid".
      return undefined;
    case 'minProperties':
    case 'maxProperties': {
      const keys = Object.keys((ps.properties as object) ?? {});
      // A map keyed by name (network.ha.addresses): how many entries, not which of a fixed set.
      if (!keys.length && e.keyword === 'minProperties') {
        const limit = (e.params as { limit: number }).limit;
        return error('schema/min-items', at(path, 'key'), `${field} must name at least ${limit} entr${limit === 1 ? 'y' : 'ies'}`);
      }
      const given = value && typeof value === 'object' ? Object.keys(value) : [];
      return error('schema/one-of', at(path, 'key'), `${field} takes exactly one of ${keys.join(', ')}, got ${given.length ? given.join(' and ') : 'none'}`);
    }
    case 'anyOf':
      // Only ports use anyOf: an integer or a "low-high" range.
      return error('schema/port', at(), `${field} must be a port from 1 to 65535 or a range like 1024-2047 (low below high), got ${describe(value)}`);
    default:
      return error(`schema/${e.keyword}`, at(), `${field} ${e.message ?? 'is not valid'}`);
  }
}

function similar(a: string, b: string): boolean {
  // Close enough to suggest: a typo, not a different word.
  return distance(a.toLowerCase(), b.toLowerCase()) <= Math.max(1, Math.floor(b.length / 3));
}

const FORMAT_TEXT: Record<string, string> = {
  ip: 'an IPv4 or IPv6 address, like 203.0.113.10 or 2001:db8::10',
  ipv4: 'an IPv4 address, like 192.168.0.1',
  'interface-address': 'an address with prefix length, like 192.168.0.1/29',
  prefix: 'a network prefix, like 10.1.0.0/16',
  'prefix-or-address': 'an address or a network prefix, like 10.1.0.0/16',
  'ip-or-hostname': 'an IP address or a DNS name, like 131.107.0.10 or ny.contoso.example',
  'port-range': 'a port range like 1024-2047 (low below high, both 1 to 65535)',
};

function explainFormat(file: SourceFile, path: Path, field: string, format: string, value: string): Diagnostic {
  const at = locate(file, path);
  if ((format === 'prefix' || format === 'prefix-or-address') && isInterfaceAddress(value) && !hostBitsClear(value)) {
    const net = networkOf(value);
    return error('schema/host-bits', at, `${field} is ${value}, which has host bits set; as a prefix it is ${net}`, { hint: `write ${net} (a prefix names a network: the bits after /${value.split('/')[1]} are zero)` });
  }
  if (format === 'routing-domain') {
    return error('schema/pattern', at, `${field} \`${shown(value)}\` is a GUID without its braces`, { hint: `write "{${shown(value)}}" (the old spelling), or a label that is not a GUID` });
  }
  if (format === 'ike-proposal' || format === 'esp-proposal') {
    const bad = unknownKeyword(value, format === 'ike-proposal' ? 'ike' : 'esp');
    return error('schema/proposal', at, `${field} \`${shown(value)}\` has \`${shown(bad ?? '')}\`, which is not a strongSwan ${format === 'ike-proposal' ? 'IKE' : 'ESP'} algorithm keyword`, { hint: 'see `s2sgw explain schema/proposal` (or docs/rules.md#schema-proposal) for the keywords s2sgw accepts' });
  }
  const code = format === 'port-range' ? 'schema/port' : format === 'ip-or-hostname' ? 'schema/destination' : format === 'ip' || format === 'ipv4' ? 'schema/address' : 'schema/prefix';
  return error(code, at, `${field} must be ${FORMAT_TEXT[format] ?? format}, got \`${shown(value)}\``);
}
