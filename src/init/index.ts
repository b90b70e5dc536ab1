// `s2sgw init` and `s2sgw tenant new`: a new config repository, and a new tenant file with ids that are free. Pure
// (the commands write the files).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ipaddr from 'ipaddr.js';
import gatewaySchema from '../../schema/gateway.schema.json';
import tenantSchema from '../../schema/tenant.schema.json';
import { embedded } from '../util/embedded';
import type { Model } from '../model/model';
import type { Allocations } from '../model/lock';

/**
 * The CI workflow init writes: examples/github/s2sgw.yml itself, read verbatim (the workflow holds `${{ }}`), from
 * the checkout or the npm package (its `files` list has it), or embedded by scripts/bundle.js in the executable.
 */
export const WORKFLOW = 'examples/github/s2sgw.yml';
function repoFile(rel: string): string {
  const text = embedded.files ? embedded.files[rel] : fs.readFileSync(path.resolve(__dirname, '..', '..', '..', rel), 'utf8');
  if (text === undefined) throw new Error(`no file ${rel}`);
  return text;
}

const GATEWAY = `# yaml-language-server: $schema=../schema/gateway.schema.json
# A gateway host: edit the interfaces, addresses and PKI paths to the host's own (docs in schema/gateway.schema.json).
gateway: gw1
external:                       # Internet-facing: terminates IKE for every tenant
  interface: eth0
  addresses: [203.0.113.10]
trunk:                          # carries the tenants' VLANs
  interface: eth1
  underlayAddress: 10.0.0.5
identity:
  certificate: /etc/s2sgw/pki/gw1.pem
  privateKey: /etc/s2sgw/pki/gw1.key
  trustAnchors: [/etc/s2sgw/pki/root.pem]
`;

const EXAMPLE_TENANT = `# yaml-language-server: $schema=../schema/tenant.schema.json
# An example tenant: one site with a pre-shared key read from the environment of \`s2sgw apply\`.
# Add tenants with \`s2sgw tenant new NAME\`.
tenant: example
routingDomain: "{00000000-0000-4000-8000-000000000001}"
gateways: [gw1]
network:                        # the tenant's virtual network: VLAN 100 on the trunk
  interface: IfEi1
  vlan: 100
  addresses: [192.168.0.1/29]
connections:
  - interface: IfEe1            # the tenant's site
    destination: 198.51.100.10
    auth:
      psk: env:EXAMPLE_SITE1_PSK
    routes:
      - { to: 10.1.0.0/16 }
`;

const GITIGNORE = `# s2sgw: built bundles and the work cache are outputs, not inputs (allocations.lock.yaml IS committed)
/out/
/.s2sgw-cache/
`;

/** The files of a new config repository, by path under it. */
export function starterFiles(): Map<string, string> {
  return new Map([
    ['gateways/gw1.yaml', GATEWAY],
    ['tenants/example.yaml', EXAMPLE_TENANT],
    ['schema/gateway.schema.json', JSON.stringify(gatewaySchema, null, 2) + '\n'],
    ['schema/tenant.schema.json', JSON.stringify(tenantSchema, null, 2) + '\n'],
    ['.github/workflows/s2sgw.yml', repoFile(WORKFLOW)],
    ['.gitignore', GITIGNORE],
  ]);
}

export interface TenantSuggestion {
  gateway: string;
  vlan: number;
  routingDomain: string;
  networkInterface: string;
  connectionInterface: string;
  address: string;
  /** The ids the next build will allocate (from the lock's `next`). */
  table: number;
  zone: number;
}

/** A GUID derived from the name (deterministic), bumped until no tenant has it. */
function guidFor(name: string, taken: Set<string>): string {
  for (let salt = 0; ; salt++) {
    const h = crypto.createHash('sha256').update(`s2sgw routing domain ${name} ${salt}`).digest('hex');
    const g = `{${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}}`.toUpperCase();
    if (!taken.has(g.toLowerCase())) return g;
  }
}

/** Free VLAN, routing domain, interface names and a /29 no tenant on the gateway uses; table and zone from the lock. */
export function suggestTenant(model: Model, lock: Allocations, name: string, gateway: string): TenantSuggestion {
  const on = model.tenants.filter((t) => t.gateways.includes(gateway));
  const vlans = new Set(on.map((t) => t.network.vlan).filter((v): v is number => v !== undefined));
  let vlan = vlans.size ? Math.max(...vlans) + 1 : 100;
  if (vlan > 4094) for (vlan = 2; vlans.has(vlan) && vlan <= 4094; vlan++);
  if (vlan > 4094) throw new Error(`gateway ${gateway} has no free VLAN`);
  const ifaces = new Set(on.flatMap((t) => [t.network.interface, ...t.connections.map((c) => c.interface)]));
  const letter = name.charAt(0).toUpperCase();
  const free = (kind: string) => {
    for (let i = 1; ; i++) if (!ifaces.has(`If${letter}${kind}${i}`)) return `If${letter}${kind}${i}`;
  };
  const nets = on.flatMap((t) => t.network.addresses).flatMap((a) => {
    try {
      const [ip, len] = ipaddr.parseCIDR(a);
      return ip.kind() === 'ipv4' ? [[ip, len] as [ipaddr.IPv4, number]] : [];
    } catch {
      return [];
    }
  });
  let address = '';
  for (let k = 0; k < 8192 && !address; k++) {
    const base = ipaddr.IPv4.parse(`192.168.${Math.floor(k / 32)}.${(k % 32) * 8}`);
    if (!nets.some(([ip, len]) => base.match(ip, len) || ip.match(base, 29))) address = `192.168.${Math.floor(k / 32)}.${(k % 32) * 8 + 1}/29`;
  }
  if (!address) throw new Error(`no free /29 in 192.168.0.0/16 on gateway ${gateway}`);
  const domains = new Set(model.tenants.flatMap((t) => (t.routingDomain ? [t.routingDomain.toLowerCase()] : [])));
  return { gateway, vlan, routingDomain: guidFor(name, domains), networkInterface: free('i'), connectionInterface: free('e'), address, table: lock.next.table, zone: lock.next.zone };
}

/** The new tenant's file. */
export function tenantFile(name: string, s: TenantSuggestion): string {
  const env = `${name.toUpperCase().replace(/-/g, '_')}_SITE1_PSK`;
  return `# yaml-language-server: $schema=../schema/tenant.schema.json
# ${name}: made by \`s2sgw tenant new\` with a free VLAN, routing domain, interface names and addresses on ${s.gateway}.
# Its next build allocates routing table ${s.table} and conntrack zone ${s.zone} (allocations.lock.yaml).
tenant: ${name}
routingDomain: "${s.routingDomain}"
gateways: [${s.gateway}]
network:
  interface: ${s.networkInterface}
  vlan: ${s.vlan}
  addresses: [${s.address}]
# A site (uncomment and edit): the pre-shared key comes from ${env} in the environment of \`s2sgw apply\`.
# connections:
#   - interface: ${s.connectionInterface}
#     destination: 198.51.100.10
#     auth:
#       psk: env:${env}
#     routes:
#       - { to: 10.1.0.0/16 }
`;
}
