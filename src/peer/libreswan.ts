// The customer-premises side of one connection for libreswan: ipsec.conf conns and ipsec.secrets lines. Pure.
// Built from the same view as the swanctl output (peerView), so both say the same thing: addresses, identities,
// proposals, lifetimes, DPD and selector pairs. libreswan negotiates one selector pair per conn, so each pair of
// the site's selectors is its own conn (NAME, NAME~2, ...) sharing one IKE SA through a common base conn.
import type { PeerView } from './view';
import { familyOf } from '../model/formats';
import { childName } from '../targets/strongswan/view';

export class LibreswanUnsupported extends Error {}

/** strongSwan proposal keywords and libreswan's names for them (ipsec.conf ike=/esp=). */
const ENCRYPTION: Record<string, string> = {
  aes128: 'aes128', aes192: 'aes192', aes256: 'aes256',
  aes128ctr: 'aes_ctr128', aes192ctr: 'aes_ctr192', aes256ctr: 'aes_ctr256',
  aes128gcm16: 'aes_gcm128', aes192gcm16: 'aes_gcm192', aes256gcm16: 'aes_gcm256',
  aes128gcm12: 'aes_gcm_b128', aes192gcm12: 'aes_gcm_b192', aes256gcm12: 'aes_gcm_b256',
  aes128gcm8: 'aes_gcm_a128', aes192gcm8: 'aes_gcm_a192', aes256gcm8: 'aes_gcm_a256',
  aes128ccm16: 'aes_ccm_c128', aes192ccm16: 'aes_ccm_c192', aes256ccm16: 'aes_ccm_c256',
  aes128ccm12: 'aes_ccm_b128', aes192ccm12: 'aes_ccm_b192', aes256ccm12: 'aes_ccm_b256',
  aes128ccm8: 'aes_ccm_a128', aes192ccm8: 'aes_ccm_a192', aes256ccm8: 'aes_ccm_a256',
  chacha20poly1305: 'chacha20_poly1305',
  camellia128: 'camellia128', camellia192: 'camellia192', camellia256: 'camellia256',
  '3des': '3des',
};
const AEAD = /gcm|ccm|chacha20/;
const INTEGRITY: Record<string, string> = { md5: 'md5', sha1: 'sha1', sha256: 'sha2_256', sha384: 'sha2_384', sha512: 'sha2_512', aesxcbc: 'aes_xcbc' };
const PRF: Record<string, string> = { prfmd5: 'md5', prfsha1: 'sha1', prfsha256: 'sha2_256', prfsha384: 'sha2_384', prfsha512: 'sha2_512', prfaesxcbc: 'aes_xcbc' };
const DH: Record<string, string> = {
  modp1024: 'dh2', modp1536: 'dh5', modp2048: 'dh14', modp3072: 'dh15', modp4096: 'dh16', modp6144: 'dh17', modp8192: 'dh18',
  ecp256: 'dh19', ecp384: 'dh20', ecp521: 'dh21', curve25519: 'dh31', x25519: 'dh31',
};

/**
 * One strongSwan proposal (aes256gcm16-prfsha384-ecp384) in libreswan's syntax (aes_gcm256-sha2_384-dh20),
 * several algorithms of a kind joined by '+'. Throws LibreswanUnsupported for what libreswan cannot say.
 */
export function libreswanProposal(proposal: string, kind: 'ike' | 'esp'): string {
  const enc: string[] = [];
  const integ: string[] = [];
  const prf: string[] = [];
  const dh: string[] = [];
  for (const k of proposal.split('-')) {
    if (ENCRYPTION[k]) enc.push(ENCRYPTION[k]);
    else if (INTEGRITY[k]) integ.push(INTEGRITY[k]);
    else if (PRF[k]) prf.push(PRF[k]);
    else if (DH[k]) dh.push(DH[k]);
    else if (k === 'esn' || k === 'noesn') continue; // libreswan negotiates ESN itself (esn=either)
    else throw new LibreswanUnsupported(`libreswan has no equivalent of \`${k}\` in the ${kind} proposal ${proposal}`);
  }
  if (!enc.length) throw new LibreswanUnsupported(`the ${kind} proposal ${proposal} names no encryption algorithm`);
  const aead = enc.every((e) => AEAD.test(e));
  // IKE: encryption-PRF (AEAD) or encryption-integrity, whose PRF libreswan derives; ESP: AEAD needs 'null'.
  let second: string[];
  if (kind === 'ike') {
    if (!aead && prf.length && prf.join('+') !== integ.join('+')) throw new LibreswanUnsupported(`libreswan derives the PRF from the integrity algorithm; ${proposal} names a different one`);
    second = aead ? (prf.length ? prf : ['sha2_256']) : integ.length ? integ : prf;
  } else second = aead ? ['null'] : integ;
  return [enc.join('+'), ...(second.length ? [second.join('+')] : []), ...(dh.length ? [dh.join('+')] : [])].join('-');
}

export interface LibreswanView {
  name: string;
  base: string;
  left: string;
  leftId: string;
  right: string;
  rightId: string;
  authby: string;
  leftCert: string | null;
  rightCa: string | null;
  ike: string;
  esp: string;
  pfs: boolean;
  ikeLifetime: string;
  saLifetime: string;
  dpdDelay: string;
  auto: string;
  narrowing: string;
  conns: Array<{ name: string; leftSubnet: string; rightSubnet: string }>;
  /** A route-based gateway connection with more than one pair: its any-to-any CHILD_SA fits only one of them. */
  narrowedWarning: boolean;
  secrets: Array<{ line: string; ref: string }>;
}

const unq = (s: string): string => s.replace(/^"|"$/g, '');
/** An ipsec.conf value: double-quoted when it has spaces or commas (a DN). The model refuses quotes. */
const val = (s: string): string => (/[\s,]/.test(s) ? `"${s}"` : s);
/** libreswan reads a bare name as an address to resolve: an identity that is neither an address nor a DN gets '@'. */
const ident = (s: string): string => (/^[0-9.]+$|:/.test(s) || s.includes('=') ? val(s) : s.startsWith('@') ? s : `@${s}`);

/** Where the site's NSS database keeps its certificate: a nickname the customer chooses when importing it. */
export const SITE_CERT_NICKNAME = (name: string) => `site-${name}`;

export function libreswanView(v: PeerView, policyBased: boolean): LibreswanView {
  if (v.local.auth.startsWith('eap-')) throw new LibreswanUnsupported('libreswan has no EAP client (it authenticates a site by PSK or certificate): use the swanctl output for this connection');
  const psk = v.local.auth === 'psk';
  const espProposals = unq(v.child.espProposals).split(',');
  const pfs = espProposals.some((p) => p.split('-').some((k) => DH[k]));
  const ownAddress = unq(v.localAddrs);
  const gwAddress = unq(v.remoteAddrs);
  // One subnet per side per conn: the site's selectors split into pairs of one family.
  const pairs = v.children.flatMap((c) => c.local.flatMap((l) => c.remote.filter((r) => familyOf(r) === familyOf(l)).map((r) => ({ leftSubnet: l, rightSubnet: r }))));
  const conns = pairs.map((p, i) => ({ name: childName(v.name, i), ...p }));
  const secrets = v.secrets.map((s) => ({ ref: s.ref, line: `${s.ids.map(ident).join(' ')} : PSK "<the value of ${s.ref}>"` }));
  return {
    name: v.name,
    base: `${v.name}-ike`,
    left: ownAddress === '%any' ? '%defaultroute' : ownAddress,
    // What the gateway expects: the site's address, its remoteId, or its certificate's subject.
    leftId: ident(v.siteId),
    right: gwAddress,
    rightId: psk ? ident(unq(v.remote.id ?? gwAddress)) : '%fromcert',
    authby: psk ? 'secret' : 'rsasig,ecdsa',
    leftCert: psk ? null : SITE_CERT_NICKNAME(v.name),
    rightCa: psk ? null : '%any',
    ike: unq(v.proposals).split(',').map((p) => libreswanProposal(p, 'ike')).join(','),
    esp: espProposals.map((p) => libreswanProposal(p, 'esp')).join(','),
    pfs,
    ikeLifetime: unq(v.rekeyTime),
    saLifetime: unq(v.child.rekeyTime),
    dpdDelay: unq(v.dpdDelay),
    // The gateway dials on demand: the site routes its side too (acquire), or starts at load for a respond-only gateway.
    auto: v.child.startAction === 'start' ? 'start' : 'route',
    // The gateway proposes exactly these pairs (policy-based), or any-to-any, which the site narrows to its pair.
    narrowing: policyBased ? 'no' : 'yes',
    conns,
    narrowedWarning: !policyBased && conns.length > 1,
    secrets,
  };
}
