// peer-config: renders the customer-premises side of a connection (swanctl.conf, and an FRR snippet when BGP runs over it).
import { header, templateFile } from '../targets/target';
import type { Gateway, Tenant } from '../compiler/model';
import { peerView, PeerView } from './view';
import { libreswanView } from './libreswan';
export { LibreswanUnsupported } from './libreswan';

export interface PeerConfig {
  swanctl: string;
  /** Present when the tenant has a BGP neighbor via this connection. */
  frr?: string;
  secrets: PeerView['secrets'];
}

export function peerConfig(t: Tenant, gw: Gateway, iface: string): PeerConfig {
  const c = t.connections.find((x) => x.interface === iface);
  if (!c) throw new Error(`tenant ${t.name} has no connection ${iface}`);
  const v = peerView(t, c, gw);
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
