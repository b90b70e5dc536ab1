// Which host links are apply's own: the ones it created (in its link group) or the release the host runs declares.
// A device of the same name that is neither is the host's or someone else's: apply never modifies or deletes it.
//
// The mark is the link's group (IFLA_GROUP), given on the `ip link add` line itself, so a link is marked from the
// moment it exists: no crash can leave a link apply made unmarked (an alias cannot be set at creation: the kernel
// ignores IFLA_IFALIAS on a new link). It lives in the kernel with the link, so it survives a restart of apply, and
// it goes with the link. systemd-networkd (netplan hosts, at boot) makes the VRFs and VLANs from the netplan file of
// the release the host runs, without the group: those names count as apply's own too, and apply marks them again.
import type { Runner } from './runner';
import type { Release } from './release';

/** The link group apply creates its links in: 0x5332, "S2". `ip link show group 21298` lists them. */
export const LINK_GROUP = 21298;

/**
 * Puts apply's mark on the `link add` lines of an ip batch (`group N` before `type`: what follows `type` is the
 * kind's own options), each followed by a `link set ... group N` for a link that already existed and is apply's
 * own (made by networkd at boot, or before links were marked): `link add` then fails with "File exists".
 */
export function markLinkAdds(lines: string[]): string[] {
  return lines.flatMap((l) => {
    const m = /^link add (?:link \S+ )?name (\S+) type /.exec(l);
    if (!m) return [l];
    const at = l.indexOf(' type ');
    return [`${l.slice(0, at)} group ${LINK_GROUP}${l.slice(at)}`, `link set dev ${m[1]} group ${LINK_GROUP}`];
  });
}

/**
 * The devices an ip or bridge batch line creates, changes or deletes: `name X` of `link add`, `dev X` and
 * `master X` of any other line. Not a `link add`'s parent (`link eth1`, or `dev eth0` after `type`): apply hangs a link on it, never changes it.
 */
export function lineDevices(line: string): string[] {
  const w = line.trim().split(/\s+/);
  if (w[0] === 'link' && w[1] === 'add') {
    const i = w.indexOf('name');
    return i > 0 && w[i + 1] ? [w[i + 1]] : [];
  }
  const out: string[] = [];
  // `master X` too: enslaving a device to a foreign bridge or VRF changes that one as well.
  for (let i = 0; i + 1 < w.length; i++) if (w[i] === 'dev' || w[i] === 'master') out.push(w[i + 1]);
  return out;
}

/** What the host says about a link apply is about to touch. */
export interface HostLink {
  name: string;
  group: number;
  kind?: string;
  master?: string;
}

/** The links among `names` that exist on the host (one `ip -j -force -batch` of `link show dev X`; read-only, run by a dry run too). */
export async function hostLinks(runner: Runner, names: Iterable<string>): Promise<Map<string, HostLink>> {
  const list = [...new Set(names)].sort();
  const out = new Map<string, HostLink>();
  if (!list.length) return out;
  const r = await runner.look('ip', ['-N', '-j', '-d', '-force', '-batch', '-'], { input: list.map((n) => `link show dev ${n}`).join('\n') + '\n' });
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('[')) continue;
    for (const l of JSON.parse(line) as Array<{ ifname: string; group?: string; master?: string; linkinfo?: { info_kind?: string } }>) {
      out.set(l.ifname, { name: l.ifname, group: Number(l.group ?? 0), kind: l.linkinfo?.info_kind, master: l.master });
    }
  }
  if (r.code !== 0 && !out.size && !/does not exist/.test(r.stderr)) throw new Error(`ip link show: ${r.stderr.trim() || `exit ${r.code}`}`);
  return out;
}

/** The devices a release declares for `tenants`: each tenant's VRF, network interface and XFRM interfaces. */
export function declaredDevices(r: Release | null, tenants: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const t of tenants) {
    const m = r?.manifest.tenants[t];
    if (!m) continue;
    out.add(t);
    const net = m.summary?.network?.interface;
    if (net) out.add(net);
    for (const c of m.connections) out.add(c);
  }
  return out;
}

/** Whether `l` is apply's: in its group, or declared by the release the host runs (`committed`). */
export function isOwn(l: HostLink, committed: Set<string>): boolean {
  return l.group === LINK_GROUP || committed.has(l.name);
}

/** How a foreign link is described in a refusal: its kind, master and group, so the operator recognises it. */
export function describeLink(l: HostLink): string {
  return `${l.name} (${[l.kind ?? 'device', l.master ? `master ${l.master}` : 'no master', `group ${l.group}`].join(', ')})`;
}

/** The tenant line that declares device `name` in release `r`: a connection's, the network's, or the tenant's (its VRF). */
export function deviceOrigin(r: Release | null, tenants: Iterable<string>, name: string): string | undefined {
  for (const t of tenants) {
    const m = r?.manifest.tenants[t];
    if (!m) continue;
    if (m.connections.includes(name)) return `tenant ${t}, connection ${name} (${m.file}:${m.summary?.connections?.[name]?.line ?? 1})`;
    if (m.summary?.network?.interface === name) return `tenant ${t}, network interface ${name} (${m.file}:${m.summary.network.line ?? m.summary.line ?? 1})`;
    if (t === name) return `tenant ${t}, VRF ${name} (${m.file}:${m.summary?.line ?? 1})`;
  }
  return undefined;
}

/**
 * FRR blocks of the running configuration that name one of `vrfs` (`vrf X`, `router bgp N vrf X`): for a tenant
 * the release the host runs does not have, s2sgw did not write them, and loading its own would take them over.
 */
export function frrBlocksNaming(runningConfig: string, vrfs: Set<string>): Array<{ vrf: string; line: string }> {
  const out: Array<{ vrf: string; line: string }> = [];
  for (const m of runningConfig.matchAll(/^(vrf (\S+)|router bgp \d+ vrf (\S+))\s*$/gm)) {
    const vrf = m[2] ?? m[3];
    if (vrfs.has(vrf)) out.push({ vrf, line: m[1] });
  }
  return out;
}

/** The table apply owns in nftables; the only one its files may name. */
export const NFT_OWN = 'inet s2sgw';

/**
 * The first top-level statement of an nft file or transaction that reaches outside `table inet s2sgw` (another
 * table, `flush ruleset`, an `include`, a second command after `;`), with its line number; undefined when none.
 * Lines inside the table's block are indented and cannot name another table.
 */
export function nftOutsideOwnTable(text: string): { n: number; line: string } | undefined {
  const lines = text.split('\n');
  const own = /^(?:(?:add|create|delete|flush|insert|replace|destroy) )?(?:table|chain|set|map|element|rule|flowtable) inet s2sgw(?: |$)/;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (!l || /^\s/.test(l) || l.startsWith('#') || l === '}') continue;
    // Quoted text (comments naming the tenant file) may hold anything but a quote; a `;` outside it starts a command.
    if (!own.test(l) || /;/.test(l.replace(/"[^"]*"/g, '""'))) return { n: i + 1, line: l };
  }
  return undefined;
}
