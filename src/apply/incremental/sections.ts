// Finds one tenant's part of a rendered bundle file by the comment each tenant section opens with, without splitting the whole file.

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
export function headOf(text: string, m: Marker): string {
  const i = text.startsWith(m.prefix) ? 0 : text.indexOf(`\n${m.prefix}`);
  return i < 0 ? text : text.slice(0, i + 1);
}

/** The lines of `tenant`'s section (its marker line up to the next tenant's marker), or '' when the file has none. */
export function sectionOf(text: string | undefined, m: Marker, tenant: string): string {
  if (!text) return '';
  const key = `\n${m.prefix}${tenant}${m.after}`;
  const i = text.indexOf(key);
  if (i < 0) return '';
  const end = text.indexOf(`\n${m.prefix}`, i + key.length);
  return text.slice(i + 1, end < 0 ? text.length : end + 1);
}
