// A connection's peer identity must name one peer: an address or subject that matches anything would let one tenant's connection answer for every other tenant's sites.
import * as ipaddr from 'ipaddr.js';
import { Diagnostic, error } from '../../model/diagnostics';
import { isIp } from '../../model/formats';
import { Rule, conn } from './rule';

/** Why an address cannot identify one peer, or undefined when it can. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry. */
export function notOnePeer(address: string): string | undefined {
  if (!isIp(address)) return undefined;
  let a: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(address);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  const range = a.range();
  if (range === 'unspecified') return 'is the unspecified address, which strongSwan reads as any peer (%any)';
  if (range === 'multicast') return 'is a multicast address, not one peer';
  if (range === 'broadcast') return 'is the broadcast address, not one peer';
  if (a.kind() === 'ipv4' && (a as ipaddr.IPv4).octets[0] === 0) return 'is in 0.0.0.0/8 ("this network"), not one peer';
  return undefined;
}

/** Why a subject DN matches more than one certificate (a wildcard, an empty value, a part without `=`), or undefined when it names one. */
export function wildcardSubject(subject: string): string | undefined {
  for (const part of subject.split(/[,/]/)) {
    const rdn = part.trim();
    if (!rdn) continue;
    const eq = rdn.indexOf('=');
    if (eq <= 0) return `has \`${rdn}\`, which is not an attribute=value pair`;
    const value = rdn.slice(eq + 1).trim();
    if (!value) return `gives \`${rdn.slice(0, eq).trim()}\` an empty value, which matches any value`;
    if (value.includes('*')) return `has a wildcard in \`${rdn}\`, which matches certificates of other peers`;
  }
  return undefined;
}

export const rule: Rule = {
  id: 'wildcard-identity',
  scope: 'tenant',
  summary: 'a connection whose destination or certificate subject matches any peer (0.0.0.0, ::, multicast, broadcast, CN=*, an empty value)',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      for (const c of t.connections) {
        const bad = notOnePeer(c.destination);
        if (bad) out.push(error(this.id, ctx.at(c.origin, 'destination'), `destination ${c.destination} of ${conn(t, c)} ${bad}`, { hint: "write the site's own public address (or its DNS name for certificate and EAP connections)" }));
        if (c.auth.kind !== 'certificate') continue;
        const why = wildcardSubject(c.auth.subject);
        if (why) out.push(error(this.id, ctx.at(c.origin, 'auth', 'certificate', 'subject'), `certificate subject of ${conn(t, c)} ${why}`, { hint: "write the peer certificate's full subject, every attribute with its exact value, like \"CN=ny.contoso.example, O=Contoso\"" }));
      }
    }
    return out;
  },
};
