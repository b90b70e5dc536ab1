// strongSwan algorithm keywords accepted in IKE and ESP proposals, from strongSwan's documented
// "IKEv2 Cipher Suites" list (https://docs.strongswan.org/docs/5.9/config/IKEv2CipherSuites.html).
// Kept in one place so adding a keyword is a one-line change.

export const ENCRYPTION = [
  'aes128', 'aes192', 'aes256',
  'aes128ctr', 'aes192ctr', 'aes256ctr',
  'aes128ccm8', 'aes128ccm12', 'aes128ccm16', 'aes192ccm8', 'aes192ccm12', 'aes192ccm16', 'aes256ccm8', 'aes256ccm12', 'aes256ccm16',
  'aes128gcm8', 'aes128gcm12', 'aes128gcm16', 'aes192gcm8', 'aes192gcm12', 'aes192gcm16', 'aes256gcm8', 'aes256gcm12', 'aes256gcm16',
  'aes128gmac', 'aes192gmac', 'aes256gmac',
  'camellia128', 'camellia192', 'camellia256',
  'chacha20poly1305', '3des', 'cast128', 'blowfish128', 'blowfish192', 'blowfish256', 'null',
];

export const INTEGRITY = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha256_96', 'aesxcbc', 'aescmac', 'md5_128', 'sha1_160'];

export const PRF = ['prfmd5', 'prfsha1', 'prfsha256', 'prfsha384', 'prfsha512', 'prfaesxcbc', 'prfaescmac'];

export const DH_GROUPS = [
  'modp768', 'modp1024', 'modp1536', 'modp2048', 'modp3072', 'modp4096', 'modp6144', 'modp8192',
  'modp1024s160', 'modp2048s224', 'modp2048s256',
  'ecp192', 'ecp224', 'ecp256', 'ecp384', 'ecp521',
  'ecp224bp', 'ecp256bp', 'ecp384bp', 'ecp512bp',
  'curve25519', 'x25519', 'curve448', 'x448',
];

/** ESP only: extended sequence numbers. */
export const ESN = ['esn', 'noesn'];

const IKE = new Set([...ENCRYPTION, ...INTEGRITY, ...PRF, ...DH_GROUPS]);
const ESP = new Set([...ENCRYPTION, ...INTEGRITY, ...DH_GROUPS, ...ESN]);

/** The first keyword of a proposal that strongSwan would not know, or undefined when all are known. */
export function unknownKeyword(proposal: string, kind: 'ike' | 'esp'): string | undefined {
  const known = kind === 'ike' ? IKE : ESP;
  return proposal.split('-').find((k) => !known.has(k));
}
