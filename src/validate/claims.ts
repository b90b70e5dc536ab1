// The rule-ready index of a warm `validate`: what each tenant claims that the rules that see every tenant compare,
// so a one-tenant change re-runs those rules over the few tenants it can meet, not over 10,000 summaries.
import type { Diagnostic } from '../model/diagnostics';
import type { Tenant } from '../model/model';
import { normalizeDn } from './rules/duplicate-certificate-subject';

/**
 * The claims of a tenant (its summary or whole entity) as tokens: two tenants can meet in a finding of a rule that
 * sees every tenant only if they share a token, or if one of them is the other's secret-scope owner (its name,
 * `name:`). A token may be coarser than the rule's key (more tenants share it): that costs work, never a finding.
 * A rule that compares another value of two tenants must add a token for it here and list itself in claimedBy (test/cache.test.ts holds the
 * incremental findings to the whole run's on every fixture and an edit sequence; this file's bytes are in every key).
 *
 * - duplicate-tenant, secret-scope: the name; duplicate-routing-domain: the routing domain; ha-vrid: the VRID;
 * - per gateway: duplicate-interface (VRF, network and connection interfaces: one namespace), duplicate-eap-username
 *   (lower-cased), duplicate-vlan, duplicate-vsid, duplicate-certificate-subject, psk-destination-conflict (the
 *   destination; the source is left out, which is coarser).
 * The crypto rules and the tenant-scope rules look at one tenant (and the gateway files, which key the index).
 */
export function tokens(t: Tenant): string {
  const out = new Set<string>([`name:${t.name}`]);
  if (t.routingDomain !== undefined) out.add(`rd:${t.routingDomain}`);
  if (t.network.ha) out.add(`vrid:${t.network.ha.vrid}`);
  for (const g of t.gateways) {
    out.add(`if:${g}:${t.name}`);
    out.add(`if:${g}:${t.network.interface}`);
    if (t.network.vlan !== undefined) out.add(`vlan:${g}:${t.network.vlan}`);
    if (t.network.vsid !== undefined) out.add(`vsid:${g}:${t.network.vsid}`);
    for (const c of t.connections) {
      out.add(`if:${g}:${c.interface}`);
      if (c.auth.kind === 'eap') out.add(`eap:${g}:${c.interface.toLowerCase()}`);
      if (c.auth.kind === 'certificate') out.add(`cert:${g}:${normalizeDn(c.auth.subject)}`);
      if (c.auth.kind === 'psk') out.add(`psk:${g}:${c.destination}`);
    }
  }
  // One string a tenant (10,000 strings to parse, not 100,000). A value holding a line break splits into pieces: equal
  // tokens still give equal pieces, so the split is only coarser.
  return [...out].join('\n');
}

/**
 * Every rule that sees every tenant (no `scope: 'tenant'`), with the token tokens() gives for what it compares, or why
 * it needs none. test/cache-index.test.ts fails for a rule missing here: a new cross-tenant rule must be listed, and
 * its compared values tokenized above, or the warm index would miss its findings.
 */
export const claimedBy: Readonly<Record<string, string>> = {
  'duplicate-tenant': 'name:',
  'secret-scope': 'name: (the scope owner)',
  'duplicate-routing-domain': 'rd:',
  'ha-vrid': 'vrid:',
  'duplicate-interface': 'if:',
  'duplicate-eap-username': 'eap:',
  'duplicate-vlan': 'vlan:',
  'duplicate-vsid': 'vsid:',
  'duplicate-certificate-subject': 'cert:',
  'psk-destination-conflict': 'psk:',
  'crypto-deprecated': 'one tenant and the gateway files',
  'crypto-profile-discouraged': 'one tenant and the gateway files',
  'crypto-profile-forbidden': 'one tenant and the gateway files',
  'duplicate-gateway': 'the gateway files only',
  'gateway-file-name': 'the gateway files only',
};

/** Whether a tenant's tokens (as tokens() joins them) hold `token`, without splitting them. */
export function holds(list: string, token: string): boolean {
  for (let i = list.indexOf(token); i >= 0; i = list.indexOf(token, i + 1)) {
    if ((i === 0 || list.charCodeAt(i - 1) === 10) && (i + token.length === list.length || list.charCodeAt(i + token.length) === 10)) return true;
  }
  return false;
}

/** What checkLock() reads of a tenant: its name and connections (the `lock` entry's key). */
export const ownersOf = (t: Tenant): string => [t.name, ...t.connections.map((c) => c.interface)].join('\0');

/**
 * A tenant file's line in the index: its content id (Git's blob id, as its `file` key holds it; the index's key holds
 * the code), its name, its gateways (joined by NUL), its lock owners, its tokens.
 */
export type IndexedTenant = [id: string, name: string, gateways: string, owners: string, tokens: string];

/**
 * The last run's outcome for the gateway files of its key: each valid tenant file's claims, its own findings (YAML
 * and schema warnings, tenant-scope rules' findings) and the findings of the rules that see every tenant, each with
 * the files it touches (where it points and its related places).
 */
export interface IndexState {
  tenants: Record<string, IndexedTenant>;
  own: Record<string, Diagnostic[]>;
  cross: Array<[Diagnostic, string[]]>;
}

/** The files a finding touches: its own and its related places'. */
export const touched = (d: Diagnostic): string[] => [...new Set([d.file, ...(d.related ?? []).map((r) => r.file)])];

/** An index as stored, or undefined when it is not one (a damaged entry is a miss, never used). */
export function asIndex(v: unknown): IndexState | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const s = v as IndexState;
  if (!s.tenants || typeof s.tenants !== 'object' || !s.own || typeof s.own !== 'object' || !Array.isArray(s.cross)) return undefined;
  for (const x of s.cross) if (!Array.isArray(x) || x.length !== 2 || !x[0] || typeof x[0] !== 'object' || !Array.isArray(x[1])) return undefined;
  for (const p of Object.keys(s.own)) if (!Array.isArray(s.own[p])) return undefined;
  for (const p of Object.keys(s.tenants)) {
    const r = s.tenants[p];
    if (!Array.isArray(r) || r.length !== 5 || r.some((x) => typeof x !== 'string')) return undefined;
  }
  return s;
}
