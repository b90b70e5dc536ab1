// Value formats checked with ipaddr.js (addresses, prefixes) and small patterns; shared by the schema and the rules.
import * as ipaddr from 'ipaddr.js';
import { unknownKeyword } from './algorithms';
import { unsliced } from '../util/unsliced';

export type Family = 4 | 6;

/** Cheap shape guards so ipaddr.js is only asked (and only throws) for strings that may be of that family. */
const V4_SHAPE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Memo for pure string functions: a repository repeats the same addresses and prefixes in every
 * tenant (overlap is the point), and ipaddr.js allocates on every call. Bounded so a huge input
 * cannot grow it without end.
 */
function memo<T>(fn: (s: string) => T, max = 100_000): (s: string) => T {
  const cache = new Map<string, T>();
  return (s: string) => {
    let v = cache.get(s);
    if (v === undefined && !cache.has(s)) {
      v = fn(s);
      if (cache.size >= max) cache.clear();
      // A copy of the key: a YAML scalar is a slice of its file's text, which the memo would keep alive (30 MB at 10,000 tenants).
      cache.set(unsliced(s), v);
    }
    return v as T;
  };
}


/** A plain IPv4 address literal in dotted-quad form. */
export const isIpv4 = memo((s: string): boolean => V4_SHAPE.test(s) && ipaddr.IPv4.isValidFourPartDecimal(s));

/** A plain address literal in canonical dotted/colon form (no zone, no prefix). */
export const isIp = memo((s: string): boolean => isIpv4(s) || (s.includes(':') && !s.includes('%') && ipaddr.IPv6.isValid(s)));

export function familyOf(s: string): Family {
  return s.includes(':') ? 6 : 4;
}

/** The ipaddr.js class of a string's family, so it never tries (and throws on) the other family first. */
function cls(s: string): typeof ipaddr.IPv4 | typeof ipaddr.IPv6 {
  return familyOf(s) === 4 ? ipaddr.IPv4 : ipaddr.IPv6;
}

/** address/len with a valid length for the family; host bits may be set. */
export const isInterfaceAddress = memo((s: string): boolean => {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!isIp(addr) || !/^(0|[1-9][0-9]{0,2})$/.test(len)) return false;
  return Number(len) <= (familyOf(addr) === 4 ? 32 : 128);
});

/** The network prefix of address/len (host bits cleared), in canonical form. */
export const networkOf = memo((s: string): string => {
  const [, len] = (cls(s) as typeof ipaddr.IPv4).parseCIDR(s);
  return `${(cls(s) as typeof ipaddr.IPv4).networkAddressFromCIDR(s).toString()}/${len}`;
});

/** A prefix: address/len with no host bits set. */
export const isPrefix = memo((s: string): boolean => isInterfaceAddress(s) && hostBitsClear(s));

export function hostBitsClear(s: string): boolean {
  const [addr, len] = s.split('/');
  return len !== undefined && networkOf(s).split('/')[0] === canonicalAddress(addr);
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

const cidr = memo((s: string): [ipaddr.IPv4 | ipaddr.IPv6, number] => (cls(s) as typeof ipaddr.IPv4).parseCIDR(s.includes('/') ? s : `${s}/${familyOf(s) === 4 ? 32 : 128}`));

/** Does prefix a overlap prefix b (either contains the other)? Address/len or plain addresses; other families never overlap. */
export function overlaps(a: string, b: string): boolean {
  if (familyOf(a) !== familyOf(b)) return false;
  const pa = cidr(a);
  const pb = cidr(b);
  const shorter = pa[1] <= pb[1] ? pa : pb;
  const longer = shorter === pa ? pb : pa;
  return (longer[0] as ipaddr.IPv4).match(shorter as [ipaddr.IPv4, number]);
}

const canonicalAddress = memo((a: string): string => (cls(a) as typeof ipaddr.IPv4).parse(a).toString());

/** Canonical text of an address or prefix (ipaddr.js normal form, IPv6 compressed). */
export const canonical = memo((s: string): string => {
  const slash = s.indexOf('/');
  return slash < 0 ? canonicalAddress(s) : `${canonicalAddress(s.slice(0, slash))}${s.slice(slash)}`;
});

/** ajv custom formats: name -> validator. */
export const FORMATS: Record<string, (s: string) => boolean> = {
  ip: isIp,
  ipv4: isIpv4,
  'interface-address': isInterfaceAddress,
  prefix: isPrefix,
  'prefix-or-address': isPrefixOrAddress,
  'ip-or-hostname': (s) => isIp(s) || isHostname(s),
  'port-range': isPortRange,
  // The pattern allows a GUID in braces or a label; a bare GUID is a GUID that lost its braces, not a label.
  'routing-domain': (s) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  'ike-proposal': (s) => unknownKeyword(s, 'ike') === undefined,
  'esp-proposal': (s) => unknownKeyword(s, 'esp') === undefined,
};

/** A duration like 30s, 8h in seconds. */
export function seconds(d: string): number {
  const n = Number(d.slice(0, -1));
  return n * { s: 1, m: 60, h: 3600, d: 86400 }[d.slice(-1) as 's' | 'm' | 'h' | 'd'];
}
