// Which prefixes a connection's traffic selectors cover: shared by the strongSwan view, the peer view and
// validate's policy-selectors-empty rule, so it lives below all three.
import type { Connection, Tenant } from './model';
import { familyOf, networkOf } from './formats';

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Whether prefix outer strictly contains prefix inner. */
export function covers(outer: string, inner: string): boolean {
  if (familyOf(outer) !== familyOf(inner)) return false;
  const [, ol] = outer.split('/');
  const [ia, il] = inner.split('/');
  return Number(ol) < Number(il) && networkOf(`${ia}/${ol}`) === outer;
}

/**
 * What the tenant reaches through a connection: its routes, post-connect routes and BGP neighbors'
 * host addresses, without prefixes another one covers; sorted. The site's side of policy-based selectors.
 */
export function sitePrefixes(t: Tenant, c: Connection): string[] {
  const hosts = (t.bgp?.neighbors ?? []).filter((n) => n.via === c.interface).map((n) => `${n.address}/${familyOf(n.address) === 4 ? 32 : 128}`);
  const all = [...new Set([...c.routes.map((r) => r.to), ...c.postConnectRoutes.map((r) => r.to), ...hosts])];
  return all.filter((p) => !all.some((o) => o !== p && covers(o, p))).sort(byString);
}

