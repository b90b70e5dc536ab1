// The site's side of each stage of a PSK rotation without a dropped tunnel (docs/psk-rotation.md). Pure.
import type { Gateway, Tenant } from '../model/model';
import { peerView } from './view';

/** How long the gateway's apply waits for the site to bring up the second IKE_SA of a responder-only connection. */
export const MBB_WAIT_SECONDS = 30;

/**
 * The stages as the peer's admin reads them, for strongSwan (`swanctl`) or libreswan sites. The new PSK itself is
 * never in it: the gateway's operator hands it over out of band.
 */
export function pskRotation(t: Tenant, gw: Gateway, iface: string, site: 'strongswan' | 'libreswan' = 'strongswan'): string {
  const c = t.connections.find((x) => x.interface === iface);
  if (!c) throw new Error(`tenant ${t.name} has no connection ${iface}`);
  if (c.auth.kind !== 'psk') throw new Error(`${t.name}/${iface} authenticates with ${c.auth.kind}, not a PSK`);
  const v = peerView(t, c, gw);
  const s = v.secrets.find((x) => x.kind === 'psk')!;
  const gatewayStarts = c.connect !== 'respond-only';
  const load = site === 'strongswan' ? 'swanctl --load-creds' : 'ipsec auto --rereadsecrets';
  const put =
    site === 'strongswan'
      ? `in your swanctl.conf, secrets { ${s.section} { ${s.ids.map((id, i) => `id-${i + 1} = ${id}`).join(', ')}, secret = "NEW PSK" } }`
      : `in ipsec.secrets, the line for ${s.ids.join(' ')}: ${s.ids.join(' ')} : PSK "NEW PSK"`;
  const initiate = site === 'strongswan' ? `swanctl --initiate --child ${v.children[0].name}` : `ipsec auto --up ${v.name}`;
  return [
    `# PSK rotation of ${t.name}/${iface} on gateway ${gw.name}: the site's side (docs/psk-rotation.md)`,
    '#',
    '# Stage 1 (the gateway): its operator stages the new PSK (s2sgw secret rotate) and gives it to you out of band.',
    '#   Nothing changes on either side yet.',
    '#',
    '# Stage 2 (you): replace the PSK, then reload the credentials only:',
    `#   ${put}`,
    `#   ${load}`,
    '#   Established SAs are not touched (a PSK is used only when an IKE_SA authenticates). Until stage 3, a new',
    '#   IKE_SA (after a reboot or a DPD restart) fails: tell the gateway\'s operator at once.',
    '#',
    '# Stage 3 (the gateway): its operator applies the release that uses the new PSK. The gateway loads the',
    '#   connection again under a second name and ' +
      (gatewayStarts
        ? 'initiates a second IKE_SA to you with the new PSK, without CHILD_SAs (childless, RFC 6023: strongSwan\n#   accepts one by default); once it is up (both sides hold the new PSK) the gateway deletes it again and your\n#   established SAs carry on untouched. Nothing to do. (If your side refuses a childless IKE_SA, the gateway\n#   brings up a second one with CHILD_SAs and then deletes the old one.)'
        : `waits ${MBB_WAIT_SECONDS} s for you to initiate a second IKE_SA; within that time run:\n#     ${initiate}\n#   Once its CHILD_SAs are installed, the gateway deletes the old IKE_SA.`),
    '#   If your side still had the old PSK, the new IKE_SA fails and the gateway keeps the old one: its apply',
    '#   fails and rolls back, and nothing dropped; do stage 2, then the operator applies again.',
    '#',
    '# Stage 4: nothing for you; the gateway\'s operator removes the old PSK once the apply is confirmed.',
    '',
  ].join('\n');
}
