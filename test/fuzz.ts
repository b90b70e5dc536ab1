// The fuzz suite's generator and properties: random gateway and tenant files built from the JSON schemas, with
// hostile strings at any leaf and hostile YAML around them, and what must hold for every one (test/fuzz.test.ts
// runs a bounded count with a fixed seed; `npm run fuzz` many more).
import fc from 'fast-check';
import { Document, stringify } from 'yaml';
import { compile } from '../src/bundle/compile';
import { loadFiles } from '../src/model/load';
import { emptyLock } from '../src/model/lock';
import { formatGithub, formatJson, formatLines, formatText } from '../src/model/format';
import type { Diagnostic } from '../src/model/diagnostics';
import type { Compiled } from '../src/bundle/compile';
import type { FileKind } from '../src/model/source';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Schema = any;
const TENANT: Schema = require('../../schema/tenant.schema.json');
const GATEWAY: Schema = require('../../schema/gateway.schema.json');

/** Strings that end tokens, start CI commands, look like options or prototype keys, or are simply too long. */
export const HOSTILE = [
  '', ' ', '\0', '\x01', '\x1b[31m', '\t', '\n', '\r\n', 'a\nb', 'a\rb', '"', "'", '\\', '{', '}', '}\n{', '};', '#', '!', '%', '%00', '*', '?',
  '::warning::pwned', '\n::add-mask::x', '::error file=a,line=1::x', '${HOME}', '$(id)', '`id`', '; rm -rf /', '| id', '&& id',
  '-h', '--help', '-', '--', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'NaN', 'null', '~', 'true', '0x10', '1e3', '-1',
  'x'.repeat(300), 'y'.repeat(70000), '\u202e', '\u00e9t\u00e9', '\u{1F4A5}', '\uFEFF', '\uD800', '../..', '/etc/passwd', '/proc/self/environ',
  'CN=*', 'CN=', '=', 'blackhole', 'Null0', 'reject', 'eth0', 'lo', 'all', 'default', 'vrf', 'include', 'secrets', '0.0.0.0', '::', '255.255.255.255',
  'env:', 'env:__proto__', 'env:constructor', 'file:', 'file:/etc/s2sgw/secrets/../pki/gw1.key', 'file:/etc/s2sgw/secrets/a\0b',
];

/** A hostile string: one of HOSTILE, any text, or a realistic value with a hostile piece spliced in. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('IfCe1', 'contoso', 'gw1', '10.1.0.0/16', 'CN=ny, O=Contoso', 'env:ALPHA_PSK'), fc.constantFrom(...HOSTILE), fc.nat(12)).map(([s, h, i]) => s.slice(0, i) + h + s.slice(i)) },
);

/** Any JSON-ish value of the wrong type for a leaf. */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(fc.constant(null), fc.integer(), fc.double(), fc.boolean(), fc.constant([]), fc.constant({}), fc.array(fc.constantFrom('x', 1), { maxLength: 2 }), fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'a'), fc.constant(1)));

const V4 = ['10.1.0.1', '10.1.0.0', '131.107.0.10', '131.107.1.10', '192.168.0.1', '203.0.113.10', '198.51.100.1', '172.16.0.1'];
const V6 = ['2001:db8::1', 'fd00::1', '2001:db8:ffff::10', 'fe80::1'];
const ip = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...V4, ...V6) }, { weight: 1, arbitrary: fc.ipV4() }, { weight: 1, arbitrary: fc.ipV6() });
const PREFIXES = ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/24', '172.20.0.0/16', '192.168.0.0/29', '192.168.0.0/24', '0.0.0.0/0', 'fd00:1::/48', '2001:db8:100::/56'];
const FORMAT: Record<string, fc.Arbitrary<string>> = {
  ip,
  'ip-or-hostname': fc.oneof({ weight: 4, arbitrary: ip }, { weight: 1, arbitrary: fc.domain() }),
  prefix: fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...PREFIXES) }, { weight: 1, arbitrary: fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, l]) => `${a}/${l}`) }),
  'prefix-or-address': fc.oneof(fc.constantFrom(...PREFIXES), ip),
  'interface-address': fc.constantFrom('192.168.0.1/29', '192.168.1.1/24', '10.0.0.1/30', 'fd00:201::1/64', '172.16.0.1/16'),
  'port-range': fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 1, max: 30000 }).map((n) => `${n}-${n + 100}`) }, { weight: 1, arbitrary: fc.constantFrom('443', '0-1', '70000', '2000-1000') }),
  'ike-proposal': fc.constantFrom('aes256gcm16-prfsha384-ecp384', 'aes128-sha256-modp2048', 'aes256-sha384-x25519', 'chacha20poly1305-prfsha256-curve25519'),
  'esp-proposal': fc.constantFrom('aes256gcm16-ecp384', 'aes128gcm16', 'aes256-sha256-modp2048', 'chacha20poly1305'),
};

function resolve(node: Schema, root: Schema): Schema {
  while (node && typeof node.$ref === 'string') {
    const [file, pointer] = node.$ref.split('#');
    const at = (r: Schema) => pointer.split('/').slice(1).reduce((n: Schema, k: string) => n?.[k], r);
    // A definition the tenant schema borrows from the gateway's refers on to the gateway's own definitions.
    node = (file === 'gateway.schema.json' ? undefined : at(root)) ?? at(GATEWAY);
  }
  return node;
}

/** How wild the generated values are: the chance that a leaf is hostile or of the wrong type, or a stray key appears. */
export interface Wildness {
  hostile: number;
  wrongType: number;
  strayKey: number;
  /** The chance that a file's YAML text is mutated (aliases, bombs, duplicate keys, truncation, bytes). */
  mutate: number;
  /** The chance that, after the fix-ups, one string of a file is replaced by a hostile one (one bad value in a good file reaches build). */
  oneLeaf?: number;
}

/** Every string value in a parsed tree, as [holder, key]: where one hostile value can go. */
function stringLeaves(o: unknown, out: Array<[Record<string, unknown>, string]> = []): Array<[Record<string, unknown>, string]> {
  if (o && typeof o === 'object')
    for (const k of Object.keys(o)) {
      const v = (o as Record<string, unknown>)[k];
      if (typeof v === 'string') out.push([o as Record<string, unknown>, k]);
      else stringLeaves(v, out);
    }
  return out;
}

const chance = (p: number) => fc.integer({ min: 0, max: 999 }).map((n) => n < p * 1000);

/** Picks among arbitraries by weight, leaving out those of weight 0. */
function weighted(...entries: Array<[number, fc.Arbitrary<unknown>]>): fc.Arbitrary<unknown> {
  const kept = entries.filter(([w]) => w > 0).map(([w, arbitrary]) => ({ weight: Math.round(w * 1000), arbitrary }));
  return kept.length === 1 ? kept[0].arbitrary : fc.oneof(...kept);
}

/**
 * An arbitrary value for a schema node: required keys always, optional ones sometimes, each leaf sometimes hostile
 * or of the wrong type. Built once per node and depth (`memo`): building arbitraries per value is what costs.
 */
export function fromSchema(node: Schema, root: Schema, w: Wildness, depth = 0, memo = new Map<Schema, fc.Arbitrary<unknown>[]>()): fc.Arbitrary<unknown> {
  node = resolve(node, root);
  const byDepth = memo.get(node) ?? [];
  memo.set(node, byDepth);
  if (byDepth[depth]) return byDepth[depth];
  const plain = plainFromSchema(node, root, w, depth, memo);
  const isLeaf = node.type !== 'object' && node.type !== 'array';
  const h = isLeaf ? w.hostile : 0;
  return (byDepth[depth] = weighted([1 - h - w.wrongType, plain], [h, node.type === 'string' ? hostile : fc.oneof(hostile, wrongType)], [w.wrongType, wrongType]));
}

function plainFromSchema(node: Schema, root: Schema, w: Wildness, depth: number, memo: Map<Schema, fc.Arbitrary<unknown>[]>): fc.Arbitrary<unknown> {
  if (node.anyOf) return fc.oneof(...node.anyOf.map((n: Schema) => plainFromSchema({ ...node, anyOf: undefined, ...resolve(n, root) }, root, w, depth, memo)));
  if (node.enum) return fc.constantFrom(...node.enum);
  switch (node.type) {
    case 'object': {
      const props: Record<string, Schema> = node.properties ?? {};
      const req: string[] = node.required ?? [];
      const optional = Object.keys(props).filter((k) => !req.includes(k));
      const min = Math.max(0, (node.minProperties ?? 0) - req.length);
      const max = Math.min(optional.length, (node.maxProperties ?? Infinity) - req.length);
      const chosen = fc.subarray(optional, { minLength: Math.min(min, optional.length), maxLength: Math.max(0, max) });
      const values = fc.tuple(...Object.keys(props).map((k) => fromSchema(props[k], root, w, depth + 1, memo)));
      const stray = weighted([1 - w.strayKey, fc.constant(undefined)], [w.strayKey, fc.constantFrom('pks', '__proto__', 'constructor', 'psk', 'Tenant', 'x-extra')]);
      return fc.tuple(chosen, values, stray).map(([keys, vals, strayKey]) => {
        const o: Record<string, unknown> = {};
        const all = Object.keys(props);
        // Keys in schema order, as people write them; defineProperty so `__proto__` is a plain key.
        for (let i = 0; i < all.length; i++) if (req.includes(all[i]) || keys.includes(all[i])) Object.defineProperty(o, all[i], { value: vals[i], enumerable: true, writable: true, configurable: true });
        if (strayKey !== undefined) Object.defineProperty(o, strayKey as string, { value: 'Sup3rS3cret!', enumerable: true, writable: true, configurable: true });
        return o;
      });
    }
    case 'array': {
      const minLength = node.minItems ?? 0;
      const items = fromSchema(node.items ?? {}, root, w, depth + 1, memo);
      const maxLength = Math.max(minLength, depth > 2 ? 2 : 3);
      // Mostly unique where the schema wants it (a duplicate is one finding; it should not hide all the others).
      return fc.oneof({ weight: 9, arbitrary: node.uniqueItems ? fc.uniqueArray(items, { minLength, maxLength, selector: (v) => JSON.stringify(v) }) : fc.array(items, { minLength, maxLength }) }, { weight: 1, arbitrary: fc.array(items, { minLength, maxLength }) });
    }
    case 'integer':
      return fc.oneof({ weight: 40, arbitrary: fc.integer({ min: node.minimum ?? -(2 ** 31), max: node.maximum ?? 2 ** 31 }) }, { weight: 1, arbitrary: fc.constantFrom(node.minimum ?? 0, node.maximum ?? 0, (node.maximum ?? 0) + 1) });
    case 'boolean':
      return fc.boolean();
    case 'string':
      if (node.format && FORMAT[node.format]) return FORMAT[node.format];
      if (node.pattern) return fc.stringMatching(new RegExp(node.pattern, 'u'));
      if (node.examples?.length) return fc.constantFrom(...node.examples);
      return fc.string({ maxLength: 20 });
    default:
      return fc.constantFrom(...(node.examples ?? [null]));
  }
}

export interface Case {
  files: Array<{ path: string; text: string | Uint8Array; kind: FileKind }>;
}

/** How a file's YAML text is made hostile, after the fact. */
const MUTATIONS = ['none', 'alias', 'bomb', 'dangling-alias', 'duplicate-key', 'truncate', 'splice', 'tab', 'two-docs', 'bom', 'binary', 'crlf', 'flow'] as const;
type Mutation = (typeof MUTATIONS)[number];

function mutate(text: string, m: Mutation, at: number, piece: string): string | Uint8Array {
  const i = text.length ? at % text.length : 0;
  switch (m) {
    case 'none':
      return text;
    case 'alias':
      return `x-a: &a { to: 10.9.0.0/16 }\n${text}`;
    case 'bomb':
      return `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n${text}`;
    case 'dangling-alias':
      return `${text}\nextra: *nowhere\n`;
    case 'duplicate-key':
      return text.replace(/^(\w+):/m, (k) => `${k} dup\n${k}`);
    case 'truncate':
      return text.slice(0, i);
    case 'splice':
      return text.slice(0, i) + piece + text.slice(i);
    case 'tab':
      return text.replace(/\n {2}/, '\n\t');
    case 'two-docs':
      return `${text}---\n${text}`;
    case 'bom':
      return '\uFEFF' + text;
    case 'binary':
      return Buffer.concat([Buffer.from(text.slice(0, i)), Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.from(text.slice(i))]);
    case 'crlf':
      return text.replace(/\n/g, '\r\n');
    case 'flow':
      return stringifyFlow(text);
  }
}

function stringifyFlow(text: string): string {
  try {
    return new Document(require('yaml').parse(text)).toString({ collectionStyle: 'flow' } as never);
  } catch {
    return text;
  }
}

/** Names a generated tenant may carry: a small pool, so cross-tenant rules (duplicates, prefixes) meet. */
const TENANT_NAMES = ['alpha', 'beta', 'a', 'a-b', 'contoso', 'constructor'];

/**
 * A whole config: one or two gateways and up to four tenants from the schemas, then made to fit together most of
 * the time (file named after its tenant, gateways that exist, filters on the tenant's own interfaces, a secret
 * reference in the tenant's scope) so that many cases get through validate and build, not only the schema.
 */
export function configArb(w: Wildness): fc.Arbitrary<Case> {
  const gw = fromSchema(GATEWAY, GATEWAY, w);
  const tn = fromSchema(TENANT, TENANT, w, 0, new Map());
  const fix = fc.record({ names: chance(0.9), gateways: chance(0.9), filters: chance(0.8), refs: chance(0.8), vias: chance(0.8) });
  // One value made hostile: replaced, or (keeping its shape, so it passes more checks) with a piece spliced in.
  const leaf = fc.tuple(chance(w.oneLeaf ?? 0), fc.nat(), fc.constantFrom(...HOSTILE), fc.boolean(), fc.nat());
  const poison = ([on, i, h, splice, at]: [boolean, number, string, boolean, number], o: unknown) => {
    const all = on ? stringLeaves(o) : [];
    if (!all.length) return;
    const [holder, key] = all[i % all.length];
    const v = holder[key] as string;
    holder[key] = splice ? v.slice(0, at % (v.length + 1)) + h + v.slice(at % (v.length + 1)) : h;
  };
  const mutation = fc.tuple(fc.tuple(chance(w.mutate), fc.constantFrom(...MUTATIONS)).map(([on, m]): Mutation => (on ? m : 'none')), fc.nat(5000), hostile);
  return fc
    .tuple(fc.array(fc.tuple(gw, fix, mutation, leaf), { minLength: 1, maxLength: 2 }), fc.array(fc.tuple(tn, fix, mutation, fc.constantFrom(...TENANT_NAMES), leaf), { minLength: 0, maxLength: 4 }))
    .map(([gws, tns]) => {
      const files: Case['files'] = [];
      const gwNames: string[] = [];
      gws.forEach(([g, f, [m, at, piece], bad], i) => {
        const o = g as Record<string, any>;
        let name = `gw${i + 1}`;
        if (f.names && o && typeof o === 'object' && !Array.isArray(o)) o.gateway = name;
        // Most gateways keep the default secrets folder, which the tenants' references below are written for,
        // and have an identity, so that certificate and EAP connections get through to build.
        if (f.refs && o && typeof o === 'object') {
          delete (o as any).secretsDir;
          // Both families, so a connection to an IPv6 peer has a source.
          if ((o as any).external && typeof (o as any).external === 'object') (o as any).external.addresses = [`203.0.113.${10 + i}`, `2001:db8:ffff::${10 + i}`];
          (o as any).identity ??= { certificate: '/etc/s2sgw/pki/gw.pem', privateKey: '/etc/s2sgw/pki/gw.key', trustAnchors: ['/etc/s2sgw/pki/root.pem'] };
        }
        else if (typeof (o as any)?.gateway === 'string' && /^[a-z0-9-]{1,20}$/.test((o as any).gateway)) name = (o as any).gateway;
        gwNames.push(name);
        poison(bad, o);
        files.push({ path: `gateways/${name}.yaml`, kind: 'gateway', text: mutate(stringify(o, { aliasDuplicateObjects: true }), m, at, piece) });
      });
      const seen = new Set<string>();
      tns.forEach(([t, f, [m, at, piece], pick, bad]) => {
        const o = t as Record<string, any>;
        let name = typeof o?.tenant === 'string' && /^[a-z0-9-]{1,20}$/.test(o.tenant) ? o.tenant : pick;
        if (f.names && o && typeof o === 'object' && !Array.isArray(o)) o.tenant = name = seen.has(pick) ? name : pick;
        if (seen.has(name)) return;
        seen.add(name);
        if (o && typeof o === 'object' && !Array.isArray(o)) {
          if (f.gateways) o.gateways = gwNames.slice(0, 1 + (name.length % gwNames.length));
          // One attachment, as most tenants have: a VLAN (a VSID needs an underlay and VTEPs of its family).
          if (f.gateways && o.network && typeof o.network === 'object') {
            delete o.network.vsid;
            delete o.network.vteps;
            o.network.vlan ??= 100 + seen.size;
          }
          if (f.filters && Array.isArray(o.filters)) for (const x of o.filters) if (x && typeof x === 'object' && x.permit && x.deny) delete x.deny;
          const conns = Array.isArray(o.connections) ? o.connections.filter((c: any) => c && typeof c === 'object') : [];
          // A source must be one of the gateway's addresses: most connections leave it to the gateway.
          if (f.gateways) for (const c of conns) delete c.source;
          const ifaces = [o.network?.interface, ...conns.map((c: any) => c.interface)].filter((x) => typeof x === 'string');
          if (f.filters && Array.isArray(o.filters) && ifaces.length)
            o.filters.forEach((x: any, j: number) => {
              if (!x || typeof x !== 'object') return;
              // One filter per interface and direction, permit or deny, and rules whose parts fit together.
              x.interface = ifaces[Math.floor(j / 2) % ifaces.length];
              x.direction = j % 2 ? 'inbound' : 'outbound';
              if (x.permit && x.deny) delete x.deny;
              if (!x.permit && !x.deny) x.permit = [{ protocol: 'icmp' }];
              for (const r of [...(Array.isArray(x.permit) ? x.permit : []), ...(Array.isArray(x.deny) ? x.deny : [])]) {
                if (!r || typeof r !== 'object') continue;
                if (r.icmpType !== undefined || r.icmpCode !== undefined) {
                  r.protocol = 'icmp';
                  delete r.sourcePort;
                  delete r.destinationPort;
                } else if (r.sourcePort !== undefined || r.destinationPort !== undefined) r.protocol = 'tcp';
                if (typeof r.source === 'string' && typeof r.destination === 'string' && r.source.includes(':') !== r.destination.includes(':')) delete r.destination;
              }
            });
          if (f.vias && Array.isArray(o.bgp?.neighbors) && conns.length) o.bgp.neighbors.forEach((n: any, j: number) => n && typeof n === 'object' && (n.via = conns[j % conns.length].interface));
          if (f.refs)
            conns.forEach((c: any, j: number) => {
              const env = `env:${name.toUpperCase().replace(/-/g, '_')}_S${j}`;
              if (c.auth && typeof c.auth === 'object' && 'psk' in c.auth) {
                c.auth.psk = j % 2 ? env : `file:/etc/s2sgw/secrets/${name}/s${j}`;
                // A PSK peer is known by its address only: a distinct one per connection.
                c.destination = `131.107.${seen.size}.${j + 1}`;
              }
              if (c.auth?.eap && typeof c.auth.eap === 'object') c.auth.eap.secret = env;
            });
        }
        poison(bad, o);
        files.push({ path: `tenants/${name}.yaml`, kind: 'tenant', text: mutate(stringify(o, { aliasDuplicateObjects: true }), m, at, piece) });
      });
      return { files };
    });
}

export interface Outcome {
  compiled: Compiled;
  /** Everything the run printed or would write, as one string: diagnostics in every format and every bundle file. */
  bytes: string;
}

/** Validates and builds a case in memory, as `s2sgw build` does, and renders every output the user could see. */
export function runCase(c: Case): Outcome {
  const loaded = loadFiles('/fuzz', c.files.map((f) => ({ path: f.path, kind: f.kind, bytes: Buffer.from(f.text) })));
  const compiled = compile(loaded, emptyLock(), { keepRendered: true });
  const sources = new Map(c.files.map((f) => [f.path, Buffer.from(f.text).toString('utf8')]));
  const d = compiled.diagnostics;
  const out = [formatText(d, { color: false, sources } as never), formatGithub(d), formatJson(d), formatLines(d), compiled.lockText ?? ''];
  for (const b of compiled.bundles) for (const f of b.files) out.push(`${b.gateway}/${f.path}\0${Buffer.from(f.content as never).toString('base64')}`);
  return { compiled, bytes: out.join('\0') };
}

/** What every diagnostic must be: a code, a severity, a message, a place in a file the case has (or the lock, or out/). */
export function diagnosticProblems(d: Diagnostic[], c: Case): string[] {
  const files = new Set(c.files.map((f) => f.path));
  const out: string[] = [];
  for (const x of d) {
    const at = `${x.file}:${x.line}:${x.col} ${x.code}`;
    if (!/^[a-z0-9-]+(\/[a-z0-9-]+)?$/.test(x.code)) out.push(`${at}: odd code`);
    if (x.severity !== 'error' && x.severity !== 'warning') out.push(`${at}: odd severity`);
    if (typeof x.message !== 'string' || !x.message.length) out.push(`${at}: no message`);
    if (!Number.isInteger(x.line) || x.line < 1 || !Number.isInteger(x.col) || x.col < 1) out.push(`${at}: not a 1-based place`);
    if (!files.has(x.file) && x.file !== 'allocations.lock.yaml' && !x.file.startsWith('out/')) out.push(`${at}: a file the case does not have`);
    if (/\n\s+at .+:\d+:\d+\)?/.test(x.message + (x.hint ?? ''))) out.push(`${at}: a stack trace in the message`);
  }
  return out;
}
