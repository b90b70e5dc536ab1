// Finds one tenant's part of a rendered bundle file by the comment each tenant section opens with, without splitting the whole file.

/**
 * A bundle file's bytes or text. apply passes Buffers: decoding a 20 MB nft file to search it for one tenant
 * cost more than the search (10,000 tenants); only the parts found are decoded.
 */
export type Text = string | Buffer;

const slice = (t: Text, from: number, to?: number): string => (typeof t === 'string' ? t.slice(from, to) : t.toString('utf8', from, to));

/** How a file marks its tenant sections: each starts on a line `${prefix}${tenant}${after}...`; the gateway's head comes before the first. */
export interface Marker {
  prefix: string;
  after: string;
}

/** frr/frr.conf: `! tenant contoso: tenants/contoso.yaml`. */
export const FRR_MARKER: Marker = { prefix: '! tenant ', after: ': ' };
/** nftables/s2sgw.nft: `# tenant contoso (tenants/contoso.yaml): conntrack zone 7`. */
export const NFT_MARKER: Marker = { prefix: '# tenant ', after: ' (' };

/**
 * The text before the first tenant section: the gateway's own lines. Tenant sections follow the head and
 * nothing follows them (targets render head, then tenants), so a file whose head is unchanged differs
 * only in tenant sections.
 */
export function headOf(text: Text, m: Marker): string {
  const i = text.indexOf(m.prefix) === 0 ? 0 : text.indexOf(`\n${m.prefix}`);
  return i < 0 ? slice(text, 0) : slice(text, 0, i + 1);
}

/** The lines of `tenant`'s section (its marker line up to the next tenant's marker), or '' when the file has none. */
export function sectionOf(text: Text | undefined, m: Marker, tenant: string): string {
  const s = text ? sectionSpan(text, m, tenant) : undefined;
  return s ? slice(text!, s[0], s[1]) : '';
}

/** Where `tenant`'s section is in `text`: [start, end) of sectionOf's lines, or undefined when the file has none. */
export function sectionSpan(text: Text, m: Marker, tenant: string): [number, number] | undefined {
  const key = `\n${m.prefix}${tenant}${m.after}`;
  const i = text.indexOf(key);
  if (i < 0) return undefined;
  const end = text.indexOf(`\n${m.prefix}`, i + key.length);
  return [i + 1, end < 0 ? text.length : end + 1];
}
