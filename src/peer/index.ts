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

export function peerConfig(t: Tenant, gw: Gateway, iface: string, pair?: { ifId: number; updown?: string }): PeerConfig {
  const c = t.connections.find((x) => x.interface === iface);
  if (!c) throw new Error(`tenant ${t.name} has no connection ${iface}`);
  const base = peerView(t, c, gw);
  // One connection per gateway of a pair: named apart, and each into its own XFRM interface when routes pick the tunnel.
  const rename = (s: string) => s.replace(base.name, `${base.name}-${gw.name}`);
  const v = pair
    ? { ...base, name: rename(base.name), children: base.children.map((ch) => ({ ...ch, name: rename(ch.name) })), secrets: base.secrets.map((x) => ({ ...x, section: rename(x.section) })), ifId: pair.ifId, updown: pair.updown }
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

/** Metric of the site's route over each gateway's tunnel: the active gateway's wins while its tunnel is up. */
export const PAIR_METRIC = { active: 100, standby: 200 } as const;

export interface PairPeerConfig {
  swanctl: string;
  frr?: string;
  /** The site's XFRM interfaces and routes (iproute2), for its admin: without BGP the tenant's prefixes at two metrics. */
  routes?: string;
  /** The updown script both connections' children name (`updownPath`): each route of `routes` follows its tunnel. */
  updown?: string;
  updownPath?: string;
  secrets: PeerView['secrets'];
}

/**
 * The site's side of a connection of a tenant on an HA pair: a tunnel to each gateway (its own external address and IKE
 * SA, DPD on both). With BGP the site peers with each gateway's own address and the standby's routes arrive prepended;
 * without BGP the site routes the tenant's prefixes into the active gateway's tunnel at a lower metric.
 */
export function peerConfigPair(t: Tenant, gws: Gateway[], iface: string): PairPeerConfig {
  const name = connectionName(iface);
  // Each route follows its tunnel through the updown script both connections name (updownPath).
  const updownPath = updownPathOf(t, name);
  const parts = gws.map((g, i) => peerConfig(t, g, iface, { ifId: i + 1, updown: updownPath }));
  const out: PairPeerConfig = { swanctl: parts.map((p) => p.swanctl).join('\n'), secrets: parts.flatMap((p) => p.secrets) };
  const frr = parts.map((p) => p.frr).filter(Boolean);
  if (frr.length) out.frr = frr.join('\n');
  const lines = [
    `# ${t.name}/${iface} on the pair ${gws.map((g) => g.name).join(', ')}: the site's routes (Linux iproute2; WAN is the site's uplink).`,
    '# One XFRM interface per gateway tunnel (if_id as in swanctl.conf): the two tunnels carry the same selectors.',
    frr.length
      ? "# With BGP: a host route to each gateway's own address through its tunnel; the tenant's prefixes come over BGP, the standby's prepended."
      : "# Without BGP: the tenant's prefixes through both tunnels, the active gateway's at the lower metric.",
    `# A route over a tunnel whose CHILD_SA is gone would still take the traffic (into nothing): ${updownPath} (updown in`,
    "# swanctl.conf) removes it when the tunnel goes down (the gateway's delete when it cannot carry the tenant, or DPD) and adds it",
    '# back when the tunnel is up' + (frr.length ? " (with BGP: the gateway's own address unreachable, FRR drops its paths at once)." : '.'),
  ];
  const prefixes = [...new Set(t.network.addresses.map(networkOf))].sort();
  const cases: string[] = [];
  gws.forEach((g, i) => {
    const dev = `${name}-${g.name}`.slice(0, 15);
    const role = haRole(t, g.name) ?? 'active';
    lines.push(`ip link add ${dev} type xfrm dev WAN if_id ${i + 1}`, `ip link set ${dev} up`);
    const targets = frr.length ? ownAddresses(t, g.name).map((a) => (a.includes(':') ? `${a.split('/')[0]}/128` : `${a.split('/')[0]}/32`)) : prefixes;
    const route = (net: string, verb: string) => `ip ${net.includes(':') ? '-6 ' : ''}route ${verb} ${net} dev ${dev}${frr.length ? '' : ` metric ${PAIR_METRIC[role]}`}`;
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

/** Where the site's updown script for a static pair connection goes (named in swanctl.conf). */
export function updownPathOf(t: Tenant, conn: string): string {
  return `/etc/swanctl/s2sgw-${t.name}-${conn}.updown`;
}
