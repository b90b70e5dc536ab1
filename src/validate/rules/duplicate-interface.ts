// Every device s2sgw creates on a gateway (VRFs, VLAN/VXLAN and XFRM interfaces) shares one namespace with the host's NICs.
import { Diagnostic, error } from '../../model/diagnostics';
import type { Origin, Tenant } from '../../model/model';
import type { Path } from '../../model/source';
import { Rule, byGateway, duplicates, gatewaysByName, related, shared } from './rule';

/** Names the kernel refuses for a new device ("." and "..") or that clash with /proc/sys/net/*\/conf/ entries. */
const RESERVED = new Set(['.', '..', 'all', 'default', 'lo']);

interface Owner {
  /** "tenant contoso's connection", "gateway gw1's trunk NIC". */
  what: string;
  tenant?: Tenant;
  vrf?: boolean;
  /** What holds the origin (a gateway, tenant, network or connection): read only for a finding. */
  of: { origin: Origin };
  path: Path;
}

export const rule: Rule = {
  id: 'duplicate-interface',
  summary: 'two interfaces (or VRFs) with the same name on one gateway',
  check(ctx) {
    const out: Diagnostic[] = [];
    const gws = gatewaysByName(ctx.model);
    const reserved = new Set<string>();
    for (const [gwName, tenants] of byGateway(ctx.model)) {
      const gw = gws.get(gwName)!;
      const owners: Array<{ key: string; owner: Owner }> = [{ key: gw.external.interface, owner: { what: `gateway ${gw.name}'s external NIC`, of: gw, path: ['external', 'interface'] } }];
      // One NIC may serve as both external and trunk interface: not a clash.
      if (gw.trunk.interface !== gw.external.interface) owners.push({ key: gw.trunk.interface, owner: { what: `gateway ${gw.name}'s trunk NIC`, of: gw, path: ['trunk', 'interface'] } });
      for (const t of tenants) {
        owners.push({ key: t.name, owner: { what: `tenant ${t.name}'s VRF`, tenant: t, vrf: true, of: t, path: ['tenant'] } });
        owners.push({ key: t.network.interface, owner: { what: `tenant ${t.name}'s network interface`, tenant: t, of: t.network, path: ['interface'] } });
        for (const c of t.connections) owners.push({ key: c.interface, owner: { what: `tenant ${t.name}'s connection`, tenant: t, of: c, path: ['interface'] } });
      }
      for (const { key, owner } of owners) {
        if (!RESERVED.has(key) || owner.vrf) continue;
        const place = ctx.at(owner.of.origin, ...owner.path);
        const id = `${place.file}:${place.line}:${place.col}`;
        if (reserved.has(id)) continue;
        reserved.add(id);
        out.push(error(this.id, place, `interface name \`${key}\` (${owner.what}) is reserved on Linux`, { hint: '`.`, `..`, `lo`, `all` and `default` cannot name a new device; pick another name' }));
      }
      for (const { first, again } of duplicates(owners)) {
        const a = first.owner;
        const b = again.owner;
        if (a.vrf && b.vrf) continue; // two tenants of one name: duplicate-tenant says so
        // A gateway's own NIC already names its gateway.
        const where = a.tenant && b.tenant ? ` on gateway ${shared(a.tenant, b.tenant)}` : a.tenant ? ` on gateway ${gw.name}` : '';
        out.push(
          error(this.id, ctx.at(b.of.origin, ...b.path), `interface name \`${again.key}\` (${b.what}) is already ${a.what}${where}`, {
            hint: 'interface and VRF names share one namespace on the gateway host (what `ip link` shows); rename this one',
            related: [related(ctx.at(a.of.origin, ...a.path), `${a.what} \`${first.key}\` is here`)],
          }),
        );
      }
    }
    return out;
  },
};
