// What a rule is: an id (its file name and its diagnostic code), a one-line summary, and a pure check of the model.
import type { Diagnostic, Place, Related } from '../../compiler/diagnostics';
import { at, Model, Origin, Tenant } from '../../compiler/model';
import type { Path } from '../../compiler/source';

export interface RuleContext {
  model: Model;
  /** Place of a value below an entity's origin, e.g. ctx.at(conn.origin, 'destination'). */
  at(origin: { file: string; path: Path }, ...more: Path): Place & { length: number };
}

export interface Rule {
  /** Kebab-case; equals the file name under src/validate/rules/ and the diagnostic code. */
  id: string;
  /** One line for docs/rules.md and `s2sgw rules`. */
  summary: string;
  check(ctx: RuleContext): Diagnostic[];
}

export function context(model: Model): RuleContext {
  return { model, at: (o, ...more) => at(model, o, ...more) };
}

/** Tenants grouped by the gateways they are on (only gateways that exist), in name order. */
export function byGateway(model: Model): Map<string, Tenant[]> {
  const out = new Map<string, Tenant[]>();
  for (const gw of model.gateways) out.set(gw.name, []);
  for (const t of model.tenants) for (const g of t.gateways) out.get(g)?.push(t);
  for (const list of out.values()) list.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return out;
}

/** Gateways two tenants share, as text for a message: "gw1" or "gw1, gw2". */
export function shared(a: Tenant, b: Tenant): string {
  return a.gateways.filter((g) => b.gateways.includes(g)).sort().join(', ');
}

export interface Claim<T> {
  key: string;
  place: Place;
  owner: T;
}

/**
 * Finds values that must be unique: returns each later claim paired with the first claim of its key.
 * Linear in the number of claims (one map lookup each): no pairwise scan.
 */
export function duplicates<T>(claims: Iterable<Claim<T>>): Array<{ first: Claim<T>; again: Claim<T> }> {
  const seen = new Map<string, Claim<T>>();
  const out: Array<{ first: Claim<T>; again: Claim<T> }> = [];
  for (const c of claims) {
    const first = seen.get(c.key);
    if (first) out.push({ first, again: c });
    else seen.set(c.key, c);
  }
  return out;
}

export function related(place: Place, message: string): Related {
  return { file: place.file, line: place.line, col: place.col, message };
}

export type { Origin };
