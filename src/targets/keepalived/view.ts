// The keepalived view: one VRRP instance per HA tenant on this gateway, on the tenant network's interface (a VRF
// slave, so the virtual address lands in the tenant's table). Every decision is made here; templates only print. Pure.
import type { Gateway, Tenant } from '../../model/model';
import { haRole, virtualAddresses } from '../../model/model';

/** The file in the bundle (/etc/keepalived/keepalived.conf on the host). */
export const KEEPALIVED_CONF = 'keepalived/keepalived.conf';

/** Where keepalived's notify commands write each tenant's VRRP state (MASTER, BACKUP, FAULT): status/plan/drain read it. */
export const HA_STATE_DIR = '/run/s2sgw/ha';
/** The gateway's drain file: "1" lowers every instance's priority by DRAIN_WEIGHT (keepalived track_file), "0" restores it. */
export const DRAIN_FILE = '/var/lib/s2sgw/ha/drain';
/** Priorities: the first gateway of the pair is active while up; drained it falls below the standby. */
export const PRIORITY = { active: 150, standby: 100 } as const;
export const DRAIN_WEIGHT = -60;
/**
 * VRRP advertisement interval in seconds: the backup takes over after 3 missed adverts plus skew, 1.8 s at priority
 * 100 (3 x 0.5 + 156/256 x 0.5). Sub-second intervals need VRRPv3 (`vrrp_version 3` in global_defs): with version 2
 * and 1 s the lab measured 3.6 s of loss when the active's trunk went down, over issue 21's 3 s.
 */
export const ADVERT_INT = 0.5;
export const VRRP_VERSION = 3;

/** Names go into keepalived's config and a shell command: the schema allows only [a-z0-9-] and [A-Za-z0-9_.-]; say so loudly otherwise. */
function token(s: string | number, what: string): string {
  const v = String(s);
  if (!/^[A-Za-z0-9_.:/-]+$/.test(v)) throw new Error(`keepalived view: unsafe ${what} ${JSON.stringify(v)}`);
  return v;
}

export interface InstanceView {
  name: string;
  interface: string;
  vrid: number;
  priority: number;
  role: 'active' | 'standby';
  advertInt: number;
  virtual: string[];
  notify: Array<{ event: string; command: string }>;
}

export function stateFile(tenant: string): string {
  return `${HA_STATE_DIR}/${tenant}.state`;
}

/** The instance of a tenant on a gateway, or undefined when the tenant has no HA role there. */
export function instanceView(t: Tenant, gw: Gateway): InstanceView | undefined {
  const role = haRole(t, gw.name);
  if (!role || !t.network.ha) return undefined;
  const name = token(t.name, 'tenant name');
  const iface = token(t.network.interface, 'interface');
  return {
    name,
    interface: iface,
    vrid: t.network.ha.vrid,
    priority: PRIORITY[role],
    role,
    advertInt: ADVERT_INT,
    virtual: virtualAddresses(t, gw.name).map((a) => `${token(a, 'address')} dev ${iface}`),
    notify: (['master', 'backup', 'fault'] as const).map((e) => ({
      event: e,
      command: `/bin/sh -c 'mkdir -p ${HA_STATE_DIR} && echo ${e.toUpperCase()} > ${stateFile(name)}'`,
    })),
  };
}

/**
 * The health script: charon (IKE) and zebra (FRR's routes) must run; a gateway without them cannot carry the tenant.
 * charon runs as `charon` under ipsec/starter but as `charon-systemd` on Debian 12's swanctl hosts (pidof matches
 * the program name exactly, and `pidof charon` misses charon-systemd: the lab found every instance in FAULT).
 */
export const DAEMONS_SCRIPT = "/bin/sh -c 'pidof charon charon-systemd >/dev/null && pidof zebra >/dev/null'";

export interface GatewayView {
  vrrpVersion: number;
  daemonsScript: string;
  routerId: string;
  drainFile: string;
  drainWeight: number;
}

export function gatewayView(gw: Gateway): GatewayView {
  return { vrrpVersion: VRRP_VERSION, daemonsScript: DAEMONS_SCRIPT, routerId: token(gw.name, 'gateway name'), drainFile: DRAIN_FILE, drainWeight: DRAIN_WEIGHT };
}
