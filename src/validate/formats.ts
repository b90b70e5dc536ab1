// Value formats checked with ipaddr.js (addresses, prefixes) and small patterns; shared by the schema and the rules.
import * as ipaddr from 'ipaddr.js';
import { unknownKeyword } from './algorithms';

export type Family = 4 | 6;

/** A plain address literal in canonical dotted/colon form (no zone, no prefix). */
export function isIp(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s) || (s.includes(':') && ipaddr.IPv6.isValid(s) && !s.includes('%'));
}

export function isIpv4(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s);
}

export function familyOf(s: string): Family {
  return s.includes(':') ? 6 : 4;
}

/** address/len with a valid length for the family; host bits may be set. */
export function isInterfaceAddress(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!isIp(addr) || !/^(0|[1-9][0-9]{0,2})$/.test(len)) return false;
  return Number(len) <= (familyOf(addr) === 4 ? 32 : 128);
}

/** The network prefix of address/len (host bits cleared), in canonical form. */
export function networkOf(s: string): string {
  const [addr, len] = ipaddr.parseCIDR(s);
  const n = len;
  if (addr.kind() === 'ipv4') return `${ipaddr.IPv4.networkAddressFromCIDR(s).toString()}/${n}`;
  return `${ipaddr.IPv6.networkAddressFromCIDR(s).toString()}/${n}`;
}

/** A prefix: address/len with no host bits set. */
export function isPrefix(s: string): boolean {
  return isInterfaceAddress(s) && hostBitsClear(s);
}

export function hostBitsClear(s: string): boolean {
  const [addr, len] = s.split('/');
  return networkOf(s).split('/')[0] === ipaddr.parse(addr).toString() && len !== undefined;
}

export function isPrefixOrAddress(s: string): boolean {
  return isIp(s) || isPrefix(s);
}

/** RFC 1123 host name (for certificate/EAP destinations); at least one dot, not all-numeric. */
export function isHostname(s: string): boolean {
  if (s.length > 253 || !s.includes('.')) return false;
  const labels = s.split('.');
  if (labels.every((l) => /^[0-9]+$/.test(l))) return false;
  return labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

export function isPortRange(s: string): boolean {
  const m = /^([1-9][0-9]{0,4})-([1-9][0-9]{0,4})$/.exec(s);
  return !!m && Number(m[1]) <= 65535 && Number(m[2]) <= 65535 && Number(m[1]) < Number(m[2]);
}

/** Does prefix a overlap prefix b (either contains the other)? Both as address/len, same family. */
export function overlaps(a: string, b: string): boolean {
  const pa = ipaddr.parseCIDR(a.includes('/') ? a : `${a}/${familyOf(a) === 4 ? 32 : 128}`);
  const pb = ipaddr.parseCIDR(b.includes('/') ? b : `${b}/${familyOf(b) === 4 ? 32 : 128}`);
  if (pa[0].kind() !== pb[0].kind()) return false;
  const shorter = pa[1] <= pb[1] ? pa : pb;
  const longer = shorter === pa ? pb : pa;
  return (longer[0] as ipaddr.IPv4).match(shorter as [ipaddr.IPv4, number]);
}

/** Canonical text of an address or prefix (ipaddr.js normal form, IPv6 compressed). */
export function canonical(s: string): string {
  if (s.includes('/')) {
    const [a, l] = s.split('/');
    return `${ipaddr.parse(a).toString()}/${l}`;
  }
  return ipaddr.parse(s).toString();
}

/** ajv custom formats: name -> validator. */
export const FORMATS: Record<string, (s: string) => boolean> = {
  ip: isIp,
  ipv4: isIpv4,
  'interface-address': isInterfaceAddress,
  prefix: isPrefix,
  'prefix-or-address': isPrefixOrAddress,
  'ip-or-hostname': (s) => isIp(s) || isHostname(s),
  'port-range': isPortRange,
  'ike-proposal': (s) => unknownKeyword(s, 'ike') === undefined,
  'esp-proposal': (s) => unknownKeyword(s, 'esp') === undefined,
};

/** A duration like 30s, 8h in seconds. */
export function seconds(d: string): number {
  const n = Number(d.slice(0, -1));
  return n * { s: 1, m: 60, h: 3600, d: 86400 }[d.slice(-1) as 's' | 'm' | 'h' | 'd'];
}
