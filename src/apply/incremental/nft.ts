// nftables' incremental reload: one `nft -f` transaction that takes out the changed tenants' map elements and chains and puts in their new ones.
import { Text, headOf, NFT_MARKER, sectionOf } from './sections';

export interface NftPlan {
  /** The table's skeleton (the gateway's part) changed: only the whole file is right. */
  headChanged: boolean;
  tenants: string[];
  /** The transaction (empty when no tenant section differs). */
  script: string;
}

/** `add element inet s2sgw MAP { "KEY" comment "..." : VALUE }` -> [table, map, key]. */
const ELEMENT = /^add element (\S+ \S+) (\S+) \{ ("(?:[^"\\]|\\.)*"|\S+) /;
const CHAIN = /^\s*chain (\S+) \{/;
const TABLE = /^table (\S+ \S+) \{/;
/** The flat form a tenant's chains have been rendered in since table blocks proved quadratic for nft. */
const ADD_CHAIN = /^add chain (\S+ \S+) (\S+)$/;

interface Parts {
  elements: Array<{ table: string; map: string; key: string }>;
  chains: Array<{ table: string; name: string }>;
}

function parts(section: string): Parts {
  const out: Parts = { elements: [], chains: [] };
  let table: string | undefined;
  for (const line of section.split('\n')) {
    const e = ELEMENT.exec(line);
    if (e) {
      out.elements.push({ table: e[1], map: e[2], key: e[3] });
      continue;
    }
    const f = ADD_CHAIN.exec(line);
    if (f) {
      out.chains.push({ table: f[1], name: f[2] });
      continue;
    }
    // A release made before that holds `table inet s2sgw { chain NAME { ... } }` blocks.
    const t = TABLE.exec(line);
    if (t) table = t[1];
    const c = CHAIN.exec(line);
    if (c && table) out.chains.push({ table, name: c[1] });
  }
  return out;
}

/**
 * The transaction for one tenant: delete its old map elements (the dispatch maps jump to its chains, so they
 * go first), flush the chains it keeps and delete those it drops, then its new section verbatim (which adds the
 * chains, their rules and the elements). Kept chains are flushed rather than deleted so they keep their place.
 */
export function nftTenantScript(oldSection: string, newSection: string): string {
  const a = parts(oldSection);
  const b = parts(newSection);
  const keep = new Set(b.chains.map((c) => `${c.table} ${c.name}`));
  const lines: string[] = [];
  for (const e of a.elements) lines.push(`delete element ${e.table} ${e.map} { ${e.key} }`);
  for (const c of a.chains) {
    lines.push(`flush chain ${c.table} ${c.name}`);
    if (!keep.has(`${c.table} ${c.name}`)) lines.push(`delete chain ${c.table} ${c.name}`);
  }
  return [...lines, ...(newSection ? [newSection.replace(/\n?$/, '\n')] : [])].join('\n');
}

/**
 * The incremental transaction between two s2sgw.nft files for the touched tenants. `inNew` (apply: the new bundle's
 * manifest) says which tenants the new file has a section for: a removed tenant's is not searched for through the
 * whole file (16 ms for a miss in 24 MB); a file and the manifest that lists its sha256 come from one bundle.
 */
export function nftPlan(oldText: Text, newText: Text, touched: string[], inNew?: (tenant: string) => boolean): NftPlan {
  if (headOf(oldText, NFT_MARKER) !== headOf(newText, NFT_MARKER)) return { headChanged: true, tenants: [], script: '' };
  const tenants: string[] = [];
  const parts: string[] = [];
  for (const t of touched) {
    const a = sectionOf(oldText, NFT_MARKER, t);
    const b = inNew && !inNew(t) ? '' : sectionOf(newText, NFT_MARKER, t);
    if (a === b) continue;
    tenants.push(t);
    parts.push(nftTenantScript(a, b));
  }
  const script = parts.length ? `# s2sgw apply: incremental transaction for ${tenants.join(', ')}\n${parts.join('\n')}` : '';
  return { headChanged: false, tenants, script };
}
