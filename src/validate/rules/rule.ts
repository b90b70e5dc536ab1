// What a rule is: an id (its file name and its diagnostic code), a one-line summary, and a pure check of the model.
import type { Diagnostic, Place, Related } from '../../model/diagnostics';
import { at, Gateway, Model, Origin, Tenant } from '../../model/model';
import { locate, Path } from '../../model/source';

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
  /**
   * 'tenant': the rule looks at one tenant at a time (with the gateway files): its findings over a model are its
   * findings over each tenant alone (`{ ...model, tenants: [t] }`) put together. validate then keeps each tenant's
   * findings of these rules in the work cache under that tenant's and the gateways' file keys, and a one-tenant change
   * runs them on one tenant (test/rules.test.ts holds every such rule to it on every fixture). Absent: the rule sees
   * every tenant (duplicates, conflicts) and runs over the whole model.
   */
  scope?: 'tenant';
}

export function context(model: Model): RuleContext {
  return { model, at: (o, ...more) => at(model, o, ...more) };
}

const groups = new WeakMap<Model, Map<string, Tenant[]>>();

/**
 * Tenants grouped by the gateways they are on (only gateways that exist), in file order.
 * Computed once per model (every rule asks); callers must not change the lists.
 */
export function byGateway(model: Model): Map<string, Tenant[]> {
  const cached = groups.get(model);
  if (cached) return cached;
  const out = new Map<string, Tenant[]>();
  for (const gw of model.gateways) out.set(gw.name, []);
  for (const t of model.tenants) for (const g of t.gateways) out.get(g)?.push(t);
  for (const list of out.values()) list.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  groups.set(model, out);
  return out;
}

/** The gateway of each name (the first file wins when two files claim one name). */
export function gatewaysByName(model: Model): Map<string, Gateway> {
  const out = new Map<string, Gateway>();
  for (const g of model.gateways) if (!out.has(g.name)) out.set(g.name, g);
  return out;
}

/** Place of a key (rather than its value) below an entity's origin: where to point when a value is missing or unwanted as a whole. */
export function keyAt(model: Model, origin: { file: string; path: Path }, ...more: Path): Place & { length: number } {
  const src = model.sources.get(origin.file);
  if (!src) return { file: origin.file, line: 1, col: 1, length: 0 };
  return locate(src, [...origin.path, ...more], 'key');
}

/** "connection IfCe1 of tenant contoso" style label. */
export function conn(t: Tenant, c: { interface: string }): string {
  return `${t.name}/${c.interface}`;
}

/** Gateways two tenants share, as text for a message: "gw1" or "gw1, gw2". */
export function shared(a: Tenant, b: Tenant): string {
  return a.gateways.filter((g) => b.gateways.includes(g)).sort().join(', ');
}

export interface Claim<T> {
  key: string;
  /**
   * Unused by duplicates(): a rule finds the place from its owner when it reports. Reading every claim's origin up
   * front made the origin of each of 10,000 tenants' summaries on a warm validate (src/validate/summary.ts keeps them
   * packed until read).
   */
  place?: Place;
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
