// peer-config: renders the customer-premises side of a connection (swanctl.conf, and an FRR snippet when BGP runs over it).
import { header, templateFile } from '../targets/target';
import type { Gateway, Tenant } from '../model/model';
import { haRole, ownAddresses } from '../model/model';
import { connectionName } from '../targets/strongswan/view';
import { peerView, PeerView } from './view';
import { libreswanView } from './libreswan';
import { networkOf } from '../model/formats';
export { LibreswanUnsupported } from './libreswan';

export interface PeerConfig {
  swanctl: string;
  /** Present when the tenant has a BGP neighbor via this connection. */
  frr?: string;
  secrets: PeerView['secrets'];
}

/** A tunnel of a pair: its if_ids, and for a static site the shared outbound if_id, the policy priority and the start/close actions. */
export interface PairTunnel {
  ifId: number;
  updown?: string;
  ifIdOut?: number;
  priority?: number;
  actions?: { start: string; dpd: string; close: string };
}

export function peerConfig(t: Tenant, gw: Gateway, iface: string, pair?: PairTunnel): PeerConfig {
  const c = t.connections.find((x) => x.interface === iface);
  if (!c) throw new Error(`tenant ${t.name} has no connection ${iface}`);
  const base = peerView(t, c, gw);
  // One connection per gateway of a pair: named apart, and each into its own XFRM interface when routes pick the tunnel.
  const rename = (s: string) => s.replace(base.name, `${base.name}-${gw.name}`);
  const v = pair
    ? {
        ...base,
        name: rename(base.name),
        children: base.children.map((ch) => ({ ...ch, name: rename(ch.name) })),
        secrets: base.secrets.map((x) => ({ ...x, section: rename(x.section) })),
        ifId: pair.ifId,
        ifIdOut: pair.ifIdOut,
        priority: pair.priority,
        updown: pair.updown,
        child: pair.actions ? { ...base.child, startAction: pair.actions.start, dpdAction: pair.actions.dpd, closeAction: pair.actions.close } : base.child,
      }
    : base;
  const from = [t.file, gw.origin.file];
  const swanctl = templateFile('peer/swanctl.hbs')({ ...v, header: header('#', from) + `# ${v.title}: swanctl.conf for the site's strongSwan (IKEv2).\n` });
  const frr = v.frr ? templateFile('peer/frr.hbs')({ ...v.frr, header: header('!', from) + `! ${v.title}: the site router's BGP session with the gateway.\n` }) : undefined;
  return { swanctl, ...(frr ? { frr } : {}), secrets: v.secrets };
}

export interface LibreswanConfig {
  ipsecConf: string;
  ipsecSecrets: string;
  frr?: string;
  secrets: PeerView['secrets'];
}

/** The site's side for libreswan (ipsec.conf conns, ipsec.secrets placeholders) and the same FRR snippet. */
export function peerConfigLibreswan(t: Tenant, gw: Gateway, iface: string): LibreswanConfig {
  const c = t.connections.find((x) => x.interface === iface);
  if (!c) throw new Error(`tenant ${t.name} has no connection ${iface}`);
  const v = peerView(t, c, gw);
  const lv = libreswanView(v, c.trafficSelectors === 'policy-based');
  const from = [t.file, gw.origin.file];
  const ipsecConf = templateFile('peer/libreswan-conf.hbs')({ ...lv, header: header('#', from) + `# ${v.title}: ipsec.conf conns for the site's libreswan (IKEv2).\n` });
  const ipsecSecrets = templateFile('peer/libreswan-secrets.hbs')({ ...lv, header: header('#', from) + `# ${v.title}: ipsec.secrets for the site's libreswan.\n` });
  const frr = v.frr ? templateFile('peer/frr.hbs')({ ...v.frr, header: header('!', from) + `! ${v.title}: the site router's BGP session with the gateway.\n` }) : undefined;
  return { ipsecConf, ipsecSecrets, ...(frr ? { frr } : {}), secrets: v.secrets };
}

/**
 * The fixed priority of a static site's IPsec policies per tunnel (swanctl's `priority`; lower wins): both tunnels'
 * outbound policies share one XFRM if_id, so the kernel holds one policy for the tenant's prefixes and the site's
 * charon points it at the best tunnel that has a CHILD_SA: the active gateway's while it is up, else the standby's.
 */
export const PAIR_PRIORITY = { active: 100, standby: 200 } as const;

export interface PairPeerConfig {
  swanctl: string;
  frr?: string;
  /** The site's XFRM interfaces and routes (iproute2), for its admin. */
  routes?: string;
  /** With BGP: the updown script both connections' children name (`updownPath`): each host route of `routes` follows its tunnel. */
  updown?: string;
  updownPath?: string;
  secrets: PeerView['secrets'];
}

/**
 * The site's side of a connection of a tenant on an HA pair: a tunnel to each gateway (its own external address and IKE
 * SA, DPD on both). With BGP the site peers with each gateway's own address and the standby's routes arrive prepended;
 * the updown script moves the host routes to those addresses with the tunnels. Without BGP the site sends the tenant's
 * prefixes through one XFRM interface whose if_id both tunnels use outbound, and each tunnel's policies carry a fixed
 * priority (the active gateway's lower): when a tunnel's CHILD_SA goes (the gateway's delete, or DPD), the site's
 * charon itself moves the one outbound policy to the other tunnel's SA, in the kernel, with no program started
 * (the lab's emulated site needed ~3 s for an updown script); when it is back, the policy moves back.
 */
export function peerConfigPair(t: Tenant, gws: Gateway[], iface: string): PairPeerConfig {
  const name = connectionName(iface);
  const bgp = !!(t.bgp?.neighbors ?? []).some((n) => n.via === iface);
  return bgp ? bgpPair(t, gws, iface, name) : staticPair(t, gws, iface, name);
}

function bgpPair(t: Tenant, gws: Gateway[], iface: string, name: string): PairPeerConfig {
  // Each host route follows its tunnel through the updown script both connections name (updownPath).
  const updownPath = updownPathOf(t, name);
  const parts = gws.map((g, i) => peerConfig(t, g, iface, { ifId: i + 1, updown: updownPath }));
  const out: PairPeerConfig = { swanctl: parts.map((p) => p.swanctl).join('\n'), secrets: parts.flatMap((p) => p.secrets) };
  out.frr = parts.map((p) => p.frr).filter(Boolean).join('\n');
  const lines = [
    `# ${t.name}/${iface} on the pair ${gws.map((g) => g.name).join(', ')}: the site's routes (Linux iproute2; WAN is the site's uplink).`,
    '# One XFRM interface per gateway tunnel (if_id as in swanctl.conf): the two tunnels carry the same selectors.',
    "# With BGP: a host route to each gateway's own address through its tunnel; the tenant's prefixes come over BGP, the standby's prepended.",
    `# A route over a tunnel whose CHILD_SA is gone would still take the traffic (into nothing): ${updownPath} (updown in`,
    "# swanctl.conf) removes it when the tunnel goes down (the gateway's delete when it cannot carry the tenant, or DPD) and adds it",
    "# back when the tunnel is up (with BGP: the gateway's own address unreachable, FRR drops its paths at once).",
  ];
  const cases: string[] = [];
  gws.forEach((g, i) => {
    const dev = `${name}-${g.name}`.slice(0, 15);
    lines.push(`ip link add ${dev} type xfrm dev WAN if_id ${i + 1}`, `ip link set ${dev} up`);
    const targets = ownAddresses(t, g.name).map((a) => (a.includes(':') ? `${a.split('/')[0]}/128` : `${a.split('/')[0]}/32`));
    const route = (net: string, verb: string) => `ip ${net.includes(':') ? '-6 ' : ''}route ${verb} ${net} dev ${dev}`;
    for (const net of targets) lines.push(route(net, 'add'));
    cases.push(`  ${name}-${g.name}|${name}-${g.name}~*) ${targets.map((n) => route(n, '"$op"')).join('; ')} ;;`);
  });
  out.routes = lines.join('\n') + '\n';
  out.updownPath = updownPath;
  out.updown = [
    '#!/bin/sh',
    `# ${t.name}/${iface} on the pair ${gws.map((g) => g.name).join(', ')}: strongSwan updown script for the site (install as ${updownPath},`,
    "# executable; both connections of swanctl.conf name it). The routes follow the tunnels: when a tunnel's CHILD_SA goes (the",
    "# gateway deleted it because it cannot carry the tenant, or DPD found it dead) its route goes, so the other gateway's route",
    "# carries the traffic; when the CHILD_SA is up again, so is the route.",
    'case "$PLUTO_VERB" in',
    '  up-*) op=replace ;;',
    '  down-*) op=del ;;',
    '  *) exit 0 ;;',
    'esac',
    'case "$PLUTO_CONNECTION" in',
    ...cases,
    'esac 2>/dev/null',
    'exit 0',
    '',
  ].join('\n');
  return out;
}

/** The outbound interface's if_id of a static pair site: after the tunnels' inbound ones (1..n). */
export const pairOutIfId = (gws: Gateway[]) => gws.length + 1;

function staticPair(t: Tenant, gws: Gateway[], iface: string, name: string): PairPeerConfig {
  const c = t.connections.find((x) => x.interface === iface);
  const outId = pairOutIfId(gws);
  // No trap policies: a trap keeps its tunnel's policy (same reqid) in the kernel after its CHILD_SA is gone, and at the
  // tunnel's priority it would win over the other tunnel's SA. The site starts both tunnels itself and restarts one
  // DPD found dead; a tunnel the gateway deleted (it cannot carry the tenant) is not dialed again by the site: the
  // gateway dials it when it is ready (the notify listener), except for a respond-only gateway, which waits for the site.
  const actions = c?.connect === 'respond-only' ? { start: 'start', dpd: 'restart', close: 'start' } : { start: 'start', dpd: 'restart', close: 'none' };
  const parts = gws.map((g, i) => peerConfig(t, g, iface, { ifId: i + 1, ifIdOut: outId, priority: PAIR_PRIORITY[haRole(t, g.name) ?? 'active'], actions }));
  const out: PairPeerConfig = { swanctl: parts.map((p) => p.swanctl).join('\n'), secrets: parts.flatMap((p) => p.secrets) };
  const dev = name.slice(0, 15);
  const lines = [
    `# ${t.name}/${iface} on the pair ${gws.map((g) => g.name).join(', ')}: the site's routes (Linux iproute2; WAN is the site's uplink).`,
    "# Inbound, one XFRM interface per gateway tunnel (if_id_in as in swanctl.conf); outbound, one interface both tunnels use",
    "# (their if_id_out). The tenant's prefixes go through that one: the site's charon points its policy at the tunnel with the",
    "# lowest priority (the active gateway's) whose CHILD_SA is up, and at the other one when it goes (the gateway's delete",
    '# when it cannot carry the tenant, or DPD): the kernel switches, no script runs. Replies may come in through either',
    '# tunnel: keep rp_filter off or loose (2) on these interfaces.',
  ];
  gws.forEach((g, i) => {
    const inDev = `${name}-${g.name}`.slice(0, 15);
    lines.push(`ip link add ${inDev} type xfrm dev WAN if_id ${i + 1}`, `ip link set ${inDev} up`);
  });
  lines.push(`ip link add ${dev} type xfrm dev WAN if_id ${outId}`, `ip link set ${dev} up`);
  for (const net of [...new Set(t.network.addresses.map(networkOf))].sort()) lines.push(`ip ${net.includes(':') ? '-6 ' : ''}route add ${net} dev ${dev}`);
  out.routes = lines.join('\n') + '\n';
  return out;
}

/** Where the site's updown script for a static pair connection goes (named in swanctl.conf). */
export function updownPathOf(t: Tenant, conn: string): string {
  return `/etc/swanctl/s2sgw-${t.name}-${conn}.updown`;
}
