// A tenant names devices on a shared host: never one the host already has, one a tool reads as an option, or a word FRR reads as a keyword.
import picomatch from 'picomatch';
import { Diagnostic, error } from '../../model/diagnostics';
import type { Gateway } from '../../model/model';
import { Rule, byGateway, gatewaysByName } from './rule';

/**
 * Device names common on Linux hosts that a tenant's VRF, network or connection interface must never
 * take: apply would enslave, readdress or delete the host's device. Narrow on purpose (a digit where
 * the convention has one), so names like `green` or `site1` stay free; a gateway file adds its own
 * with `reservedInterfaces`.
 */
export const BUILT_IN_RESERVED = [
  'lo',
  'eth[0-9]*',
  'en[opsx][0-9a-f]*',
  'enP[0-9]*',
  'wlan[0-9]*',
  'wl[opx][0-9a-f]*',
  'wwan[0-9]*',
  'ww[px][0-9a-f]*',
  'docker*',
  'br-*',
  'veth*',
  'virbr*',
  'vnet[0-9]*',
  'lxcbr*',
  'lxdbr*',
  'bond[0-9]*',
  'team[0-9]*',
  'tun[0-9]*',
  'tunl[0-9]*',
  'tap[0-9]*',
  'vxlan_sys*',
  'ip6tnl[0-9]*',
  'ip_vti[0-9]*',
  'ip6_vti[0-9]*',
  'sit[0-9]*',
  'gre[0-9]*',
  'gretap[0-9]*',
  'erspan[0-9]*',
  'ip6gre[0-9]*',
  'ip6erspan[0-9]*',
  'dummy[0-9]*',
  'ifb[0-9]*',
  'ppp[0-9]*',
  'wg[0-9]*',
  'ovs-system',
  'nlmon[0-9]*',
];

/**
 * Words FRR reads as keywords where s2sgw writes an interface name (`ip route PREFIX IFACE` in a
 * `vrf` block, staticd's nexthop grammar): such a name would turn a route into a blackhole or change
 * the line's meaning. FRR matches keywords without regard to case.
 */
export const FRR_KEYWORDS = ['blackhole', 'reject', 'null0', 'label', 'table', 'tag', 'vrf', 'nexthop-vrf', 'onlink', 'color', 'segments', 'bfd', 'default', 'interface', 'ip', 'ipv6', 'exit', 'exit-vrf', 'end', 'no'];

/** VRF (tenant) names with a meaning of their own: FRR's `vrf default` is the main instance, /proc/sys/net/*\/conf/all and default are settings. */
const VRF_WORDS = ['default', 'all'];
/** Interface names duplicate-interface already reports as reserved on Linux. */
const LINUX_WORDS = new Set(['.', '..', 'all', 'default', 'lo']);

const GLOB = { dot: true, nobrace: true, noextglob: true } as const;
const matchers = new Map<string, RegExp>();
function matcher(glob: string): RegExp {
  let m = matchers.get(glob);
  if (!m) matchers.set(glob, (m = picomatch.makeRe(glob, GLOB)));
  return m;
}
/** The built-in list as one expression: most names match nothing, and are tested once rather than once per pattern. */
let builtIn: RegExp | undefined;

/** The first reserved pattern (the gateway's own first, then the built-in list) a name matches. */
export function reservedBy(name: string, gw: Pick<Gateway, 'reservedInterfaces'>): { glob: string; own: boolean } | undefined {
  for (const glob of gw.reservedInterfaces) if (matcher(glob).test(name)) return { glob, own: true };
  builtIn ??= new RegExp(BUILT_IN_RESERVED.map((g) => `(?:${matcher(g).source})`).join('|'));
  if (!builtIn.test(name)) return undefined;
  const glob = BUILT_IN_RESERVED.find((g) => matcher(g).test(name));
  return glob === undefined ? undefined : { glob, own: false };
}

export const rule: Rule = {
  id: 'reserved-interface-name',
  scope: 'tenant',
  summary: "a tenant's VRF or interface name that is a host device's, starts with `-`, or is an FRR keyword",
  check(ctx) {
    const out: Diagnostic[] = [];
    const gws = gatewaysByName(ctx.model);
    const reported = new Set<string>();
    for (const [gwName, tenants] of byGateway(ctx.model)) {
      const gw = gws.get(gwName)!;
      for (const t of tenants) {
        const names = [
          { name: t.name, what: `tenant ${t.name}'s VRF`, vrf: true, place: () => ctx.at(t.origin, 'tenant') },
          { name: t.network.interface, what: `tenant ${t.name}'s network interface`, vrf: false, place: () => ctx.at(t.network.origin, 'interface') },
          ...t.connections.map((c) => ({ name: c.interface, what: `connection ${t.name}/${c.interface}`, vrf: false, place: () => ctx.at(c.origin, 'interface') })),
        ];
        // `<trunk>.<vlan>` is the usual name of exactly the VLAN device s2sgw makes for this tenant on this trunk.
        const ownVlan = t.network.vlan !== undefined ? `${gw.trunk.interface}.${t.network.vlan}` : undefined;
        for (const n of names) {
          if (n.name === ownVlan && n.name === t.network.interface) continue;
          const why = problem(n.name, n.vrf, gw);
          if (!why) continue;
          const place = n.place();
          const id = `${place.file}:${place.line}:${place.col}:${why.message}`;
          if (reported.has(id)) continue;
          reported.add(id);
          out.push(error(this.id, place, `\`${n.name}\` (${n.what}) ${why.message}`, { hint: why.hint }));
        }
      }
    }
    return out;
  },
};

function problem(name: string, vrf: boolean, gw: Gateway): { message: string; hint: string } | undefined {
  if (name.startsWith('-')) return { message: 'starts with `-`; `ip` and other tools would read it as an option', hint: 'start the name with a letter or digit' };
  if (vrf && VRF_WORDS.includes(name)) return { message: `is a name with a meaning of its own on the host (\`vrf ${name}\` in FRR, /proc/sys/net/ipv4/conf/${name})`, hint: 'pick another tenant name' };
  // duplicate-interface reports these: Linux's own words, and the gateway's own NICs.
  if (!vrf && (LINUX_WORDS.has(name) || name === gw.external.interface || name === gw.trunk.interface)) return undefined;
  const lower = name.toLowerCase();
  if (!vrf && (FRR_KEYWORDS.includes(lower) || lower.startsWith('null0'))) return { message: `is a word FRR reads as a keyword (\`ip route PREFIX ${name}\` would not name an interface)`, hint: `pick a name that is not one of ${FRR_KEYWORDS.join(', ')} and does not start with Null0 (in any case)` };
  const by = reservedBy(name, gw);
  if (by) return { message: `matches \`${by.glob}\`, ${by.own ? `reserved by gateway ${gw.name}'s \`reservedInterfaces\`` : `a name reserved for the host's own devices on gateway ${gw.name}`}`, hint: `a tenant must never take a device the host has or may have; pick another name${by.own ? '' : ' (the built-in list is in docs/rules.md#reserved-interface-name)'}` };
  return undefined;
}
