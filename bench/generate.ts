// Synthetic config repositories for benches and tests: one gateway and N realistic tenants that validate clean.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** VLAN ids end here; tenants past it attach by VSID (VXLAN), as a provider past 4,094 tenants must. */
export const MAX_VLAN = 4094;
/** First VSID handed out (the HNV range starts at 4096). */
export const FIRST_VSID = 5001;
/** Connections per tenant, each a PSK site. */
export const SITES = 3;
/** PSK destinations come from 100.64.0.0/10 (shared address space, never a real customer): 4 addresses per tenant. */
const PSK_BASE = (100 << 24) | (64 << 16);
const PSK_SPACE = 1 << 22;
/** VXLAN tenants spread over a pool of hypervisor VTEPs on the underlay. */
const VTEP_POOL = 64;

export interface GenerateOptions {
  /** Number of tenants. */
  tenants: number;
  /** Index of the first tenant (default 1): tenants first..first+tenants-1, so a test can start near the VLAN/VSID boundary. */
  first?: number;
  /** Gateway name; default gw1. */
  gateway?: string;
}

export interface Generated {
  dir: string;
  gateway: string;
  tenants: number;
  /** Bytes of YAML written. */
  bytes: number;
  /** Tenant files written, relative to dir. */
  files: string[];
}

/** The tenant's name (also its file stem and VRF name): t1, t2, ... at most 15 characters. */
export function tenantName(i: number): string {
  return `t${i}`;
}

/** The largest N the address plan supports (PSK destinations, VSIDs). */
export const MAX_TENANTS = Math.min(PSK_SPACE / 4 - 1, 16777214 - FIRST_VSID);

function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Destination of site k (1-based) of tenant i: unique across the gateway, so the PSK rule holds. */
export function pskDestination(i: number, k: number): string {
  return ipv4((PSK_BASE + i * 4 + k) >>> 0);
}

/** The routing domain GUID of tenant i: unique, in braces, decimal digits are valid hex. */
export function routingDomain(i: number): string {
  return `{b3c4d5e6-1000-2000-3000-${String(i).padStart(12, '0')}}`;
}

export function gatewayYaml(name = 'gw1'): string {
  return `# yaml-language-server: $schema=../schema/gateway.schema.json
# Generated for benchmarks: one shared gateway carrying every tenant.
gateway: ${name}
external:
  interface: eth0
  addresses: [203.0.113.10, 2001:db8:ffff::10]
trunk:
  interface: eth1
  underlayAddress: 10.0.0.5     # VXLAN source for the tenants past VLAN ${MAX_VLAN}
identity:
  certificate: /etc/s2sgw/pki/${name}.pem
  privateKey: /etc/s2sgw/pki/${name}.key
  trustAnchors: [/etc/s2sgw/pki/fabrikam-root.pem]
defaults:
  rate: { txKbps: 5120, rxKbps: 5120 }
  ike: { proposals: [aes256gcm16-prfsha384-ecp384], lifetime: 8h }
  esp: { proposals: [aes256gcm16-ecp384], lifetime: 1h }
  dpd: 30s
`;
}

/**
 * Tenant i (1-based): the seed's Contoso/Woodgrove shape with three PSK sites. Every tenant uses the
 * same inner addresses (192.168.0.1/29 inside, 10.1-10.4.0.0/16 at the sites): overlap between
 * tenants is allowed. Only what must be unique on a gateway differs: name, routing domain,
 * VLAN/VSID, interface names and PSK destinations.
 *
 * Its second site was `connect: always` until issue 18's bench: no peer answers on a bench
 * host, so charon initiated 10,000 IKE_SAs during a 10,000-tenant load and retransmitted them for minutes after, in
 * the first apply and in the `swanctl --load-all` it is measured against alike; a host with `always` sites has peers
 * that answer. On-demand installs trap policies like the first site.
 */
export function tenantYaml(i: number, gateway = 'gw1'): string {
  if (!Number.isInteger(i) || i < 1 || i > MAX_TENANTS) throw new RangeError(`tenant index ${i} is outside 1..${MAX_TENANTS}`);
  const t = tenantName(i);
  const inside = `${t}i`;
  const site = (k: number) => `${t}e${k}`;
  const env = (k: number) => `env:${t.toUpperCase()}_SITE${k}_PSK`;
  const attach =
    i <= MAX_VLAN
      ? `  vlan: ${i}\n`
      : `  vsid: ${FIRST_VSID + i - MAX_VLAN - 1}\n  vteps: [10.0.1.${1 + (i % VTEP_POOL)}, 10.0.1.${1 + ((i + 1) % VTEP_POOL)}]\n`;
  return `# yaml-language-server: $schema=../schema/tenant.schema.json
# Generated tenant ${i}: three PSK sites, BGP to two of them, the seed's filters.
tenant: ${t}
routingDomain: "${routingDomain(i)}"
gateways: [${gateway}]
network:
  interface: ${inside}
${attach}  addresses: [192.168.0.1/29]
connections:
  - interface: ${site(1)}          # head office
    destination: ${pskDestination(i, 1)}
    auth:
      psk: ${env(1)}
    connect: on-demand
    routes:
      - { to: 10.1.0.0/16, metric: 100 }
    rate: { txKbps: 1024, rxKbps: 1024 }
  - interface: ${site(2)}          # branch, dialled when traffic comes (no peer answers a bench: see below)
    destination: ${pskDestination(i, 2)}
    auth:
      psk: ${env(2)}
    connect: on-demand
    routes:
      - { to: 10.2.0.0/16, metric: 100 }
      - { to: 10.1.0.0/16, metric: 200 }
    dpd: 10s
  - interface: ${site(3)}          # partner site, dials in
    destination: ${pskDestination(i, 3)}
    auth:
      psk: ${env(3)}
    connect: respond-only
    routes:
      - { to: 10.3.0.0/16, metric: 100 }
    postConnectRoutes: [ { to: 10.4.0.0/16 } ]
    ike: { proposals: [aes256gcm16-prfsha384-ecp384], lifetime: 4h }
bgp:
  asn: 64512
  routerId: 192.168.0.1
  neighbors:
    - { address: 10.1.0.1, remoteAsn: 65001, via: ${site(1)} }
    - { address: 10.2.0.1, remoteAsn: 65002, via: ${site(2)} }
  advertise: [192.168.0.0/29]
  maxPrefixes: 1000
filters:
  - interface: ${inside}
    direction: outbound
    permit:
      - { source: 192.168.0.0/29, destination: 10.1.0.0/16 }
      - { source: 192.168.0.0/29, destination: 10.2.0.0/16, protocol: tcp, destinationPort: 1024-65535 }
      - { protocol: icmp }
  - interface: ${inside}
    direction: inbound
    permit:
      - { destination: 192.168.0.0/29, protocol: tcp, destinationPort: 443 }
      - { destination: 192.168.0.0/29, protocol: icmp, icmpType: 8, icmpCode: 0 }
  - interface: ${site(3)}
    direction: outbound
    deny:
      - { source: 10.3.0.0/16, destination: 192.168.0.0/29, protocol: tcp, sourcePort: 1234, destinationPort: 4321 }
      - { source: 10.3.0.0/16, protocol: udp, destinationPort: 53 }
`;
}

/** Writes a config repository of `tenants` tenants into `dir` (created if missing; gateways/ and tenants/ must not hold other files). */
export function generateRepo(dir: string, opts: GenerateOptions): Generated {
  const gateway = opts.gateway ?? 'gw1';
  const first = opts.first ?? 1;
  if (!Number.isInteger(opts.tenants) || opts.tenants < 0 || !Number.isInteger(first) || first < 1 || first + opts.tenants - 1 > MAX_TENANTS) {
    throw new RangeError(`tenants ${first}..${first + opts.tenants - 1} are outside 1..${MAX_TENANTS}`);
  }
  fs.mkdirSync(path.join(dir, 'gateways'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'tenants'), { recursive: true });
  const gw = gatewayYaml(gateway);
  fs.writeFileSync(path.join(dir, 'gateways', `${gateway}.yaml`), gw);
  let bytes = Buffer.byteLength(gw);
  const files: string[] = [];
  for (let i = first; i < first + opts.tenants; i++) {
    const rel = `tenants/${tenantName(i)}.yaml`;
    const text = tenantYaml(i, gateway);
    fs.writeFileSync(path.join(dir, rel), text);
    bytes += Buffer.byteLength(text);
    files.push(rel);
  }
  return { dir, gateway, tenants: opts.tenants, bytes, files };
}

/** A fresh temporary repository of `tenants` tenants; remove it with `fs.rmSync(g.dir, { recursive: true })`. */
export function generateTempRepo(opts: GenerateOptions): Generated {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `s2sgw-bench-${opts.tenants}-`));
  return generateRepo(dir, opts);
}
