// Checks netplan/90-s2sgw.yaml with `netplan generate --root-dir` on a scratch root and asserts the networkd files it writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { Diagnostic, error, Place, warning } from '../../model/diagnostics';
import type { CheckInput, RenderedFile } from '../target';
import { text } from '../target';
import { run } from '../../util/exec';
import * as os from 'node:os';
import { lineText, originOfLine } from '../links/lines';

/** A networkd unit file as section -> key -> values (keys repeat, e.g. Address=). */
export type Unit = Map<string, Map<string, string[]>>;

export function parseUnit(s: string): Unit {
  const unit: Unit = new Map();
  let cur: Map<string, string[]> | undefined;
  for (const raw of s.split('\n')) {
    const l = raw.trim();
    if (!l || l.startsWith('#') || l.startsWith(';')) continue;
    const m = /^\[(.+)\]$/.exec(l);
    if (m) {
      cur = unit.get(m[1]) ?? new Map();
      unit.set(m[1], cur);
      continue;
    }
    const eq = l.indexOf('=');
    if (!cur || eq < 0) continue;
    const k = l.slice(0, eq);
    cur.set(k, [...(cur.get(k) ?? []), l.slice(eq + 1)]);
  }
  return unit;
}

function values(u: Unit | undefined, section: string, key: string): string[] {
  return u?.get(section)?.get(key) ?? [];
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = any;

/**
 * What networkd must end up with for each entry of our netplan file: the netdev kind and ids, the
 * VRF membership and the addresses. Returns one message per mismatch, keyed by the entry's name.
 */
export function assertNetworkd(doc: Doc, dir: string): Array<{ name: string; message: string }> {
  const net = doc?.network ?? {};
  const problems: Array<{ name: string; message: string }> = [];
  const read = (name: string, ext: string): Unit | undefined => {
    const f = path.join(dir, `10-netplan-${name}.${ext}`);
    return fs.existsSync(f) ? parseUnit(fs.readFileSync(f, 'utf8')) : undefined;
  };
  const expect = (name: string, ok: boolean, message: string) => {
    if (!ok) problems.push({ name, message });
  };
  const vrfOf = new Map<string, string>();
  for (const [vrf, v] of Object.entries<Doc>(net.vrfs ?? {})) for (const i of v.interfaces ?? []) vrfOf.set(String(i), vrf);
  const trunkLinks = new Map<string, string[]>();
  const member = (name: string, def: Doc, kind: string) => {
    const netdev = read(name, 'netdev');
    const network = read(name, 'network');
    expect(name, !!netdev, `netplan wrote no 10-netplan-${name}.netdev`);
    expect(name, !!network, `netplan wrote no 10-netplan-${name}.network`);
    if (!netdev || !network) return;
    expect(name, values(netdev, 'NetDev', 'Kind')[0] === kind, `10-netplan-${name}.netdev has Kind=${values(netdev, 'NetDev', 'Kind')[0]}, expected ${kind}`);
    const want = (def.addresses ?? []).map(String).sort();
    const got = values(network, 'Network', 'Address').sort();
    expect(name, JSON.stringify(want) === JSON.stringify(got), `10-netplan-${name}.network has Address=${got.join(',')}, expected ${want.join(',')}`);
    const vrf = vrfOf.get(name);
    expect(name, (values(network, 'Network', 'VRF')[0] ?? '') === (vrf ?? ''), `10-netplan-${name}.network has VRF=${values(network, 'Network', 'VRF')[0] ?? ''}, expected ${vrf ?? 'none'}`);
    if (def.link) trunkLinks.set(String(def.link), [...(trunkLinks.get(String(def.link)) ?? []), `${kind === 'vlan' ? 'VLAN' : 'VXLAN'}=${name}`]);
  };
  for (const [name, def] of Object.entries<Doc>(net.vlans ?? {})) {
    member(name, def, 'vlan');
    const id = values(read(name, 'netdev'), 'VLAN', 'Id')[0];
    expect(name, id === String(def.id), `10-netplan-${name}.netdev has VLAN Id=${id}, expected ${def.id}`);
  }
  for (const [name, def] of Object.entries<Doc>(net.tunnels ?? {})) {
    member(name, def, 'vxlan');
    const nd = read(name, 'netdev');
    for (const [key, want] of [
      ['VNI', def.id],
      ['Local', def.local],
      ['Remote', def.remote],
      ['DestinationPort', def.port],
    ] as Array<[string, unknown]>) {
      const got = values(nd, 'VXLAN', key)[0];
      expect(name, (got ?? '') === (want === undefined ? '' : String(want)), `10-netplan-${name}.netdev has ${key}=${got ?? ''}, expected ${want ?? 'none'}`);
    }
  }
  for (const [name, def] of Object.entries<Doc>(net.vrfs ?? {})) {
    const nd = read(name, 'netdev');
    expect(name, !!nd && values(nd, 'NetDev', 'Kind')[0] === 'vrf', `netplan wrote no VRF netdev 10-netplan-${name}.netdev`);
    const table = values(nd, 'VRF', 'Table')[0];
    expect(name, table === String(def.table), `10-netplan-${name}.netdev has Table=${table}, expected ${def.table}`);
    expect(name, !!read(name, 'network'), `netplan wrote no 10-netplan-${name}.network`);
  }
  for (const [trunk, links] of [...trunkLinks].sort()) {
    const nw = read(trunk, 'network');
    const got = [...values(nw, 'Network', 'VLAN').map((v) => `VLAN=${v}`), ...values(nw, 'Network', 'VXLAN').map((v) => `VXLAN=${v}`)];
    for (const l of links) expect(l.split('=')[1], got.includes(l), `10-netplan-${trunk}.network lacks ${l}: the link would not be created on the trunk`);
  }
  return problems;
}

/**
 * A scratch root on tmpfs when there is one: netplan writes several files per tenant, and on a disk
 * creating and removing tens of thousands of small files costs seconds.
 */
async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const base = ['/dev/shm', os.tmpdir()].find((d) => {
    try {
      fs.accessSync(d, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  })!;
  const dir = fs.mkdtempSync(path.join(base, 's2sgw-netplan-'));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ERROR_LINE = /^(?<file>[^\s:][^:]*):(?<line>\d+):(?<col>\d+): (?<msg>.*)$/;

/** Runs netplan generate on the rendered file in a scratch root and reports what it rejects or writes wrongly. */
export async function checkNetplan(input: CheckInput, netplanPath: string): Promise<Diagnostic[]> {
  const file = input.files.find((f) => f.path === netplanPath);
  if (!file) return [];
  const gw: Place = { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col };
  return withScratch(async (root) => {
    const etc = path.join(root, 'etc', 'netplan');
    fs.mkdirSync(etc, { recursive: true });
    const yamlFile = path.join(etc, '90-s2sgw.yaml');
    // 0600: netplan warns about configuration readable by others.
    fs.writeFileSync(yamlFile, text(file), { mode: 0o600 });
    const r = await run('netplan', ['generate', '--root-dir', root], { timeoutMs: 60_000 });
    if (r.missing) return [error('netplan/tool-missing', gw, `cannot check ${netplanPath}: netplan is not installed (${r.stderr.trim()})`, { hint: 'apt-get install netplan.io' })];
    if (r.code !== 0) return generateErrors(file, netplanPath, r.code, r.stderr, gw);
    const problems = assertNetworkd(parse(text(file)), path.join(root, 'run', 'systemd', 'network'));
    // netplan warns about what it will not honour (deprecated keys, permissions) but still exits 0.
    const warned = r.stderr.split('\n').filter((l) => /WARNING/.test(l)).map((l) => warning('netplan/check', gw, `netplan generate warns about ${netplanPath}: ${l.replace(/^.*WARNING \*\*:\s*([0-9:.]+:\s*)?/, '').trim()}`));
    return [...warned, ...problems.map((p) => error('netplan/check', placeOfName(input, p.name, gw), `netplan generate accepted ${netplanPath} but ${p.message}`))];
  });
}

function generateErrors(file: RenderedFile, netplanPath: string, code: number, stderr: string, gw: Place): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const l of stderr.split('\n')) {
    const m = ERROR_LINE.exec(l);
    if (!m?.groups || !m.groups.file.endsWith('90-s2sgw.yaml')) continue;
    const line = Number(m.groups.line);
    out.push(error('netplan/check', originOfLine(file, line, gw), `netplan generate rejects ${netplanPath}:${line}:${m.groups.col} (${lineText(file, line).trim()}): ${m.groups.msg}`));
  }
  if (out.length) return out;
  // 245 = -11: netplan's C generator died of SIGSEGV (0.106 does so on a VRF with routes:).
  const crashed = code === 245 || /SIGSEGV|Segmentation/.test(stderr);
  const tail = stderr.trim().split('\n').slice(-3).join(' / ');
  return [error('netplan/check', gw, `netplan generate ${crashed ? 'crashed (segmentation fault)' : `failed with exit ${code}`} on ${netplanPath}${tail ? `: ${tail}` : ''}`)];
}

/** The tenant place of a netplan entry name (a network interface or a VRF). */
function placeOfName(input: CheckInput, name: string, gw: Place): Place {
  const t = input.tenants.find((x) => x.name === name) ?? input.tenants.find((x) => x.network.interface === name);
  if (!t) return gw;
  const o = t.name === name ? t.origin : t.network.origin;
  return { file: o.file, line: o.line, col: o.col };
}

/**
 * networkd has no offline config checker; what can go wrong in the drop-in is a setting this
 * systemd does not know (it would be ignored with a log line), so look each one up in the
 * binary's own table of `Section.Key` names.
 */
export function checkNetworkdConf(input: CheckInput, confPath: string): Diagnostic[] {
  const file = input.files.find((f) => f.path === confPath);
  if (!file) return [];
  const gw: Place = { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col };
  const bin = ['/usr/lib/systemd/systemd-networkd', '/lib/systemd/systemd-networkd'].find((p) => fs.existsSync(p));
  if (!bin) return [error('netplan/tool-missing', gw, `cannot check ${confPath}: systemd-networkd is not installed`, { hint: 'apt-get install systemd' })];
  const known = fs.readFileSync(bin).toString('latin1');
  const out: Diagnostic[] = [];
  for (const [section, keys] of parseUnit(text(file))) {
    for (const key of keys.keys()) {
      if (!known.includes(`${section}.${key}\0`)) out.push(error('netplan/check', gw, `${confPath}: this systemd-networkd (${bin}) does not know [${section}] ${key}=`));
    }
  }
  return out;
}
