// Crypto profiles: which strongSwan proposal keywords a profile forbids or discourages, with the reason and its source.
// Tables only (docs/crypto.md prints them); the rules crypto-profile-forbidden, crypto-profile-discouraged and
// crypto-deprecated apply them (findings() below is what they share). Pure.
import type { Model } from '../model/model';
import { ENCRYPTION, INTEGRITY, PRF, DH_GROUPS, ESN } from '../model/algorithms';

export type Kind = 'ike' | 'esp';
export type Level = 'forbidden' | 'discouraged';

/** Why a keyword is forbidden or discouraged, and where that is written. */
export interface Verdict {
  level: Level;
  reason: string;
  source: string;
}

export interface Profile {
  name: string;
  title: string;
  /** The document the profile follows. */
  document: string;
  /** Per proposal kind: keywords with a verdict; for a closed profile, every keyword not in `allowed` is forbidden. */
  ike: Table;
  esp: Table;
  /** Proposals this profile accepts without a finding (tested against a real charon in test/crypto.test.ts). */
  examples: { ike: string[]; esp: string[] };
}

interface Table {
  /** Closed profiles name what they allow; anything else is forbidden for `otherwise`. */
  allowed?: string[];
  otherwise?: { reason: string; source: string };
  verdicts: Record<string, Verdict>;
}

/** ESP has no PRF: its tables leave the prf* keywords out. */
const withoutPrf = (v: Record<string, Verdict>): Record<string, Verdict> => Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('prf')));
const forbid = (reason: string, source: string): Verdict => ({ level: 'forbidden', reason, source });
const discourage = (reason: string, source: string): Verdict => ({ level: 'discouraged', reason, source });

// RFC 8221 (ESP) and RFC 8247 (IKEv2): MUST NOT is forbidden, SHOULD NOT (and MAY kept only for old peers) discouraged.
const R8221_ENC = 'RFC 8221 section 5';
const R8221_AUTH = 'RFC 8221 section 6';
const R8247_ENC = 'RFC 8247 section 2.1';
const R8247_PRF = 'RFC 8247 section 2.2';
const R8247_INT = 'RFC 8247 section 2.3';
const R8247_DH = 'RFC 8247 section 2.4';

const DH_RFC: Record<string, Verdict> = {
  modp768: forbid('768-bit MODP (group 1) is MUST NOT: broken by public computation', R8247_DH),
  modp1024: discourage('1024-bit MODP (group 2) is SHOULD NOT: within reach of well-funded attackers', R8247_DH),
  modp1536: discourage('1536-bit MODP (group 5) is SHOULD NOT: its security margin is too narrow', R8247_DH),
  modp1024s160: discourage('MODP group 22 is SHOULD NOT: 1024-bit, and its prime-order subgroup needs checks peers skip', R8247_DH),
  modp2048s224: discourage('MODP group 23 is SHOULD NOT: its prime-order subgroup needs checks peers skip', R8247_DH),
  modp2048s256: discourage('MODP group 24 is SHOULD NOT: its prime-order subgroup needs checks peers skip', R8247_DH),
};

const MD5_INT = (src: string) => forbid('HMAC-MD5 integrity (AUTH_HMAC_MD5_96 and its variants) is MUST NOT', src);

const DEFAULT: Profile = {
  name: 'default',
  title: 'IETF recommendations for IPsec',
  document: 'RFC 8221 (ESP) and RFC 8247 (IKEv2)',
  ike: {
    verdicts: {
      null: forbid('ENCR_NULL is MUST NOT for IKE: the IKE SA would carry keys in the clear', R8247_ENC),
      blowfish128: forbid('ENCR_BLOWFISH is MUST NOT: a 64-bit block cipher', R8247_ENC),
      blowfish192: forbid('ENCR_BLOWFISH is MUST NOT: a 64-bit block cipher', R8247_ENC),
      blowfish256: forbid('ENCR_BLOWFISH is MUST NOT: a 64-bit block cipher', R8247_ENC),
      '3des': discourage('ENCR_3DES is only MAY, kept for old peers: a 64-bit block (Sweet32) and slow', R8247_ENC),
      cast128: discourage('CAST-128 is a 64-bit block cipher outside the recommended set', R8247_ENC),
      md5: MD5_INT(R8247_INT),
      md5_128: MD5_INT(R8247_INT),
      prfmd5: forbid('PRF_HMAC_MD5 is MUST NOT', R8247_PRF),
      sha256_96: discourage('sha256_96 is a non-standard 96-bit truncation of HMAC-SHA-256 that other IKEv2 peers do not speak', R8247_INT),
      ...DH_RFC,
    },
  },
  esp: {
    verdicts: {
      null: discourage('ENCR_NULL gives no confidentiality (RFC 8221 keeps it for integrity-only ESP)', R8221_ENC),
      blowfish128: forbid('ENCR_BLOWFISH is MUST NOT: a 64-bit block cipher', R8221_ENC),
      blowfish192: forbid('ENCR_BLOWFISH is MUST NOT: a 64-bit block cipher', R8221_ENC),
      blowfish256: forbid('ENCR_BLOWFISH is MUST NOT: a 64-bit block cipher', R8221_ENC),
      '3des': discourage('ENCR_3DES is SHOULD NOT: a 64-bit block (Sweet32) and slow', R8221_ENC),
      cast128: discourage('CAST-128 is a 64-bit block cipher outside the recommended set', R8221_ENC),
      md5: MD5_INT(R8221_AUTH),
      md5_128: MD5_INT(R8221_AUTH),
      sha256_96: discourage('sha256_96 is a non-standard 96-bit truncation of HMAC-SHA-256 that only old Linux kernels speak', R8221_AUTH),
      ...DH_RFC,
    },
  },
  examples: {
    ike: ['aes256gcm16-prfsha384-ecp384', 'aes128gcm16-prfsha256-x25519', 'chacha20poly1305-prfsha256-curve25519', 'aes256-sha256-modp2048', 'aes128-sha1-prfsha1-ecp256'],
    esp: ['aes256gcm16-ecp384', 'aes128gcm16', 'chacha20poly1305-x25519', 'aes256-sha256-modp3072', 'aes128-sha1-esn'],
  },
};

const CNSA_DOC = 'CNSSP 15; RFC 9206, CNSA Suite for IPsec';
const CNSA_ALLOWED = ['aes256gcm16', 'aes256', 'sha384', 'prfsha384', 'ecp384', 'modp3072', 'modp4096', 'modp6144', 'modp8192', ...ESN];
const CNSA: Profile = {
  name: 'cnsa',
  title: 'NSA Commercial National Security Algorithm Suite 1.0',
  document: CNSA_DOC,
  ike: { allowed: CNSA_ALLOWED, otherwise: { reason: 'not a CNSA algorithm: AES-256 (GCM, or CBC with HMAC-SHA-384), SHA-384, ECDH P-384 or DH of 3072 bits and more only', source: CNSA_DOC }, verdicts: {} },
  esp: { allowed: CNSA_ALLOWED.filter((k) => !k.startsWith('prf')), otherwise: { reason: 'not a CNSA algorithm: AES-256 (GCM, or CBC with HMAC-SHA-384), SHA-384, ECDH P-384 or DH of 3072 bits and more only', source: CNSA_DOC }, verdicts: {} },
  examples: {
    ike: ['aes256gcm16-prfsha384-ecp384', 'aes256-sha384-ecp384', 'aes256gcm16-prfsha384-modp3072'],
    esp: ['aes256gcm16-ecp384', 'aes256gcm16', 'aes256-sha384-modp3072-esn'],
  },
};

const SP800_57 = 'NIST SP 800-57 Part 1 Rev. 5, table 2';
const SP800_77 = 'NIST SP 800-77 Rev. 1';
const SP800_131 = 'NIST SP 800-131A Rev. 2';
const NIST_ENC = ['aes128', 'aes192', 'aes256', 'aes128ctr', 'aes192ctr', 'aes256ctr', 'aes128gcm16', 'aes192gcm16', 'aes256gcm16', 'aes128ccm16', 'aes192ccm16', 'aes256ccm16', 'aes128gcm12', 'aes192gcm12', 'aes256gcm12', 'aes128ccm12', 'aes192ccm12', 'aes256ccm12', 'aes128gmac', 'aes192gmac', 'aes256gmac'];
const NIST_REST = ['sha1', 'sha256', 'sha384', 'sha512', 'aescmac', 'prfsha1', 'prfsha256', 'prfsha384', 'prfsha512', 'prfaescmac', 'ecp256', 'ecp384', 'ecp521', 'modp3072', 'modp4096', 'modp6144', 'modp8192', ...ESN];
const NIST_VERDICTS: Record<string, Verdict> = {
  '3des': forbid('TDEA (3DES) encryption is disallowed after 2023', SP800_131),
  modp2048: forbid('2048-bit MODP gives 112 bits of security; this profile asks for 128', SP800_57),
  modp2048s224: forbid('a 2048-bit MODP group gives 112 bits of security; this profile asks for 128', SP800_57),
  modp2048s256: forbid('a 2048-bit MODP group gives 112 bits of security; this profile asks for 128', SP800_57),
  ecp224: forbid('P-224 gives 112 bits of security; this profile asks for 128', SP800_57),
  sha1: discourage('HMAC-SHA-1 is still approved, but SHA-2 is recommended for IPsec', SP800_77),
  prfsha1: discourage('PRF-HMAC-SHA-1 is still approved, but SHA-2 is recommended for IPsec', SP800_77),
  aes128gcm12: discourage('a 12-octet ICV; a 16-octet ICV is recommended', SP800_77),
  aes192gcm12: discourage('a 12-octet ICV; a 16-octet ICV is recommended', SP800_77),
  aes256gcm12: discourage('a 12-octet ICV; a 16-octet ICV is recommended', SP800_77),
  aes128ccm12: discourage('a 12-octet ICV; a 16-octet ICV is recommended', SP800_77),
  aes192ccm12: discourage('a 12-octet ICV; a 16-octet ICV is recommended', SP800_77),
  aes256ccm12: discourage('a 12-octet ICV; a 16-octet ICV is recommended', SP800_77),
};
const NIST_OTHERWISE = { reason: 'not a NIST-approved algorithm of at least 128-bit security (AES, SHA-2 or SHA-1 HMAC, AES-CMAC, P-256/384/521, MODP of 3072 bits and more)', source: `${SP800_57}; ${SP800_131}` };
const NIST: Profile = {
  name: 'nist-128',
  title: 'NIST-approved algorithms of at least 128-bit security',
  document: `${SP800_57}, ${SP800_131}, ${SP800_77}`,
  ike: { allowed: [...NIST_ENC.filter((k) => !k.endsWith('gmac')), ...NIST_REST], otherwise: NIST_OTHERWISE, verdicts: NIST_VERDICTS },
  esp: { allowed: [...NIST_ENC, ...NIST_REST.filter((k) => !k.startsWith('prf'))], otherwise: NIST_OTHERWISE, verdicts: withoutPrf(NIST_VERDICTS) },
  examples: {
    ike: ['aes128gcm16-prfsha256-ecp256', 'aes256-sha384-ecp384', 'aes128ctr-sha256-modp3072', 'aes256ccm16-prfsha512-ecp521'],
    esp: ['aes128gcm16-ecp256', 'aes256-sha256', 'aes128ctr-aescmac-modp3072', 'aes256gcm16-esn'],
  },
};

const BSI_DOC = 'BSI TR-02102-3';
const BSI_ENC = ['aes128', 'aes192', 'aes256', 'aes128ctr', 'aes192ctr', 'aes256ctr', 'aes128gcm16', 'aes192gcm16', 'aes256gcm16', 'aes128gcm12', 'aes192gcm12', 'aes256gcm12', 'aes128ccm16', 'aes192ccm16', 'aes256ccm16', 'aes128ccm12', 'aes192ccm12', 'aes256ccm12'];
const BSI_REST = ['sha256', 'sha384', 'sha512', 'prfsha256', 'prfsha384', 'prfsha512', 'ecp256', 'ecp384', 'ecp521', 'ecp256bp', 'ecp384bp', 'ecp512bp', 'modp3072', 'modp4096', 'modp6144', 'modp8192', 'curve25519', 'x25519', 'curve448', 'x448', ...ESN];
const BSI_VERDICTS: Record<string, Verdict> = {
  modp2048: forbid('2048-bit MODP (group 14) was accepted only until the end of 2022; 3072 bits and more are required', BSI_DOC),
  sha1: forbid('HMAC-SHA-1 is not recommended', BSI_DOC),
  prfsha1: forbid('PRF-HMAC-SHA-1 is not recommended', BSI_DOC),
  curve25519: discourage('Curve25519 is not among the groups TR-02102-3 recommends (brainpool and NIST curves, MODP of 3072 bits and more)', BSI_DOC),
  x25519: discourage('Curve25519 is not among the groups TR-02102-3 recommends (brainpool and NIST curves, MODP of 3072 bits and more)', BSI_DOC),
  curve448: discourage('Curve448 is not among the groups TR-02102-3 recommends (brainpool and NIST curves, MODP of 3072 bits and more)', BSI_DOC),
  x448: discourage('Curve448 is not among the groups TR-02102-3 recommends (brainpool and NIST curves, MODP of 3072 bits and more)', BSI_DOC),
};
const BSI_OTHERWISE = { reason: 'not recommended for IPsec (AES in CBC, CTR, GCM or CCM; HMAC-SHA-2; brainpool or NIST curves; MODP of 3072 bits and more)', source: BSI_DOC };
const BSI: Profile = {
  name: 'bsi',
  title: 'German Federal Office for Information Security, IPsec recommendations',
  document: 'BSI TR-02102-3 (Cryptographic Mechanisms: Recommendations and Key Lengths, part 3: IPsec)',
  ike: { allowed: [...BSI_ENC, ...BSI_REST], otherwise: BSI_OTHERWISE, verdicts: BSI_VERDICTS },
  esp: { allowed: [...BSI_ENC, ...BSI_REST.filter((k) => !k.startsWith('prf'))], otherwise: BSI_OTHERWISE, verdicts: withoutPrf(BSI_VERDICTS) },
  examples: {
    ike: ['aes256gcm16-prfsha384-ecp384bp', 'aes256-sha256-ecp256bp', 'aes128ctr-sha512-modp3072', 'aes256gcm16-prfsha256-ecp256'],
    esp: ['aes256gcm16-ecp384bp', 'aes128-sha256', 'aes256ctr-sha384-modp4096', 'aes128ccm16-esn'],
  },
};

export const PROFILES: Profile[] = [DEFAULT, CNSA, NIST, BSI];
export const PROFILE_NAMES = PROFILES.map((p) => p.name);

export function profile(name: string): Profile | undefined {
  return PROFILES.find((p) => p.name === name);
}

/** The verdict of one keyword in a profile, or undefined when the profile accepts it. */
export function verdict(p: Profile, kind: Kind, keyword: string): Verdict | undefined {
  const t = p[kind];
  const v = t.verdicts[keyword];
  if (v) return v;
  if (t.allowed && !t.allowed.includes(keyword)) return { level: 'forbidden', ...t.otherwise! };
  return undefined;
}

/** Every keyword strongSwan knows for a kind (for docs/crypto.md's tables). */
export function keywords(kind: Kind): string[] {
  return kind === 'ike' ? [...ENCRYPTION, ...INTEGRITY, ...PRF, ...DH_GROUPS] : [...ENCRYPTION, ...INTEGRITY, ...DH_GROUPS, ...ESN];
}

/** One finding about one keyword of one written proposal. `profile` is undefined for the no-profile check. */
export interface CryptoFinding {
  /** forbidden/discouraged under a named profile; deprecated: no profile, and RFC 8221/8247 forbid or discourage it. */
  level: Level | 'deprecated';
  profile?: string;
  kind: Kind;
  proposal: string;
  keyword: string;
  verdict: Verdict;
  /** Where: the proposal itself (file and YAML path), or the tenant's cryptoProfile key for an inherited proposal. */
  file: string;
  path: Array<string | number>;
  /** Set when the proposal is a gateway default that a tenant's own profile judges. */
  inherited?: { gateway: string; builtIn: boolean };
  /** Who: "gateway gw1" or "tenant/IfCe1". */
  subject: string;
}

const cache = new WeakMap<Model, CryptoFinding[]>();

/**
 * Every crypto finding of the model. Each proposal is judged where it is written: a gateway's
 * defaults by the gateway's profile, a connection's own proposals by its tenant's profile (else
 * its gateway's); a tenant that names a profile also has the gateway defaults it inherits judged
 * by it, reported at its cryptoProfile. Computed once per model (three rules ask).
 */
export function findings(model: Model): CryptoFinding[] {
  const hit = cache.get(model);
  if (hit) return hit;
  const out: CryptoFinding[] = [];
  const seen = new Set<string>();
  const push = (f: CryptoFinding) => {
    const key = `${f.file}\0${f.path.join('.')}\0${f.keyword}\0${f.profile ?? ''}\0${f.inherited?.gateway ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(f);
  };
  // One proposal is written by thousands of tenants: its verdicts are looked up once per profile, and a finding's
  // place is made only when there is a finding.
  const verdicts = new Map<string, Array<[string, Verdict]>>();
  const judge = (profileName: string | undefined, kind: Kind, proposal: string, where: () => Omit<CryptoFinding, 'level' | 'profile' | 'kind' | 'proposal' | 'keyword' | 'verdict'>) => {
    const memo = `${profileName ?? ''}\0${kind}\0${proposal}`;
    let found = verdicts.get(memo);
    if (!found) {
      const p = profile(profileName ?? 'default')!;
      found = [];
      for (const keyword of proposal.split('-')) {
        const v = verdict(p, kind, keyword);
        if (v) found.push([keyword, v]);
      }
      verdicts.set(memo, found);
    }
    if (!found.length) return;
    const at = where();
    for (const [keyword, v] of found) push({ level: profileName ? v.level : 'deprecated', ...(profileName ? { profile: profileName } : {}), kind, proposal, keyword, verdict: v, ...at });
  };
  const gateways = new Map(model.gateways.map((g) => [g.name, g]));
  for (const g of model.gateways) {
    for (const kind of ['ike', 'esp'] as const) {
      if (!g.written?.[kind]) continue;
      g.defaults[kind].proposals.forEach((pr, i) => judge(g.cryptoProfile, kind, pr, () => ({ file: g.origin.file, path: ['defaults', kind, 'proposals', i], subject: `gateway ${g.name}` })));
    }
  }
  for (const t of model.tenants) {
    for (const c of t.connections) {
      for (const kind of ['ike', 'esp'] as const) {
        const own = c[kind]?.proposals;
        for (const gname of t.gateways) {
          const g = gateways.get(gname);
          if (!g) continue;
          const prof = t.cryptoProfile ?? g.cryptoProfile;
          if (own) own.forEach((pr, i) => judge(prof, kind, pr, () => ({ file: t.file, path: [...c.origin.path, kind, 'proposals', i], subject: `${t.name}/${c.interface}` })));
          else if (t.cryptoProfile && t.cryptoProfile !== g.cryptoProfile)
            g.defaults[kind].proposals.forEach((pr) =>
              judge(prof, kind, pr, () => ({ file: t.file, path: ['cryptoProfile'], subject: `${t.name}/${c.interface}`, inherited: { gateway: g.name, builtIn: !g.written?.[kind] } })),
            );
        }
      }
    }
  }
  cache.set(model, out);
  return out;
}

/** The message of a finding: what, why, and where that is written. */
export function messageOf(f: CryptoFinding): string {
  const what = `${f.kind.toUpperCase()} proposal \`${f.proposal}\``;
  const from = f.inherited ? ` (${f.inherited.builtIn ? 's2sgw\'s built-in default' : `gateway ${f.inherited.gateway}'s default`}, inherited)` : '';
  const under = f.profile ? `crypto profile ${f.profile} ${f.level === 'forbidden' ? 'forbids' : 'discourages'}` : 'without a crypto profile, RFC 8221/8247 advise against';
  return `${f.subject}: ${what}${from}: ${under} \`${f.keyword}\`: ${f.verdict.reason} (${f.verdict.source})`;
}

/** docs/crypto.md's generated part: per profile, what it forbids and discourages, with reasons and sources (test/crypto.test.ts keeps the page equal to it). */
export function cryptoTables(): string {
  const out: string[] = [];
  for (const p of PROFILES) {
    out.push(`### ${p.name}`, '', `${p.title}. Follows ${p.document}.`, '');
    for (const kind of ['ike', 'esp'] as const) {
      const t = p[kind];
      out.push(`**${kind === 'ike' ? 'IKE' : 'ESP'}** — accepted examples: ${p.examples[kind].map((e) => `\`${e}\``).join(', ')}.`, '');
      if (t.allowed) out.push(`Allowed: ${t.allowed.map((k) => `\`${k}\``).join(' ')}; anything else is forbidden: ${t.otherwise!.reason} (${t.otherwise!.source}).`, '');
      const rows = Object.entries(t.verdicts);
      if (rows.length) {
        out.push('| keyword | verdict | reason | source |', '|---|---|---|---|');
        for (const [k, v] of rows) out.push(`| \`${k}\` | ${v.level} | ${v.reason} | ${v.source} |`);
        out.push('');
      }
    }
  }
  return out.join('\n');
}
