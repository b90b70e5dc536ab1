// The keepalived view: one VRRP instance per HA tenant on this gateway, on the tenant network's interface (a VRF
// slave, so the virtual address lands in the tenant's table). Every decision is made here; templates only print. Pure.
import type { Gateway, Tenant } from '../../model/model';
import { haRole, virtualAddresses } from '../../model/model';
import { childName, connectionName, selectorPairs } from '../strongswan/view';
import { DRAIN_FILE, HA_STATE_DIR, LISTENER_PID, LISTENER_SCRIPT, NOTIFY_FIFO, stateFile, TUNNELS_MARK } from './paths';

// The host paths live in ./paths (apply reads them without loading the model this view needs).
export { HA_STATE_DIR, NOTIFY_FIFO, LISTENER_PID, LISTENER_SCRIPT, TUNNELS_MARK, DRAIN_FILE, stateFile } from './paths';

/** The file in the bundle (/etc/keepalived/keepalived.conf on the host). */
export const KEEPALIVED_CONF = 'keepalived/keepalived.conf';

/** Priorities: the first gateway of the pair is active while up; drained it falls below the standby. */
export const PRIORITY = { active: 150, standby: 100 } as const;
export const DRAIN_WEIGHT = -60;
/**
 * VRRP advertisement interval in seconds, unless the tenant sets `network.ha.advertInterval`: the backup takes over
 * after 3 missed adverts plus skew, 0.72 s at priority 100 (3 x 0.2 + 156/256 x 0.2). Sub-second intervals need VRRPv3
 * (`vrrp_version 3` in global_defs, hundredths of a second). Why 0.2 is safe (false failovers under load): docs/ha.md,
 * "Failover" (scripts/vrrp-bench.sh measures it). With VRRPv2 and 1 s the lab lost 3.6 s when the active's trunk went
 * down; with 0.5 s the takeover took 1.8 s.
 */
export const ADVERT_INT = 0.2;
/** keepalived's advert_int: hundredths of a second (VRRPv3), no trailing zeros. */
export function advertInt(seconds: number): string {
  return String(Math.max(1, Math.round(seconds * 100)) / 100);
}
export const VRRP_VERSION = 3;

/** Names go into keepalived's config and a shell command: the schema allows only [a-z0-9-] and [A-Za-z0-9_.-]; say so loudly otherwise. */
function token(s: string | number, what: string): string {
  const v = String(s);
  if (!/^[A-Za-z0-9_.:/~-]+$/.test(v)) throw new Error(`keepalived view: unsafe ${what} ${JSON.stringify(v)}`);
  return v;
}

/** What the notify commands and the listener do for a tenant: its connections, those it dials, their children, its sites' addresses. */
export interface Tunnels {
  ikes: string[];
  dial: string[];
  children: string[];
  v4: string[];
  v6: string[];
}

export function tunnelsOf(t: Tenant): Tunnels {
  const conns = [...t.connections].sort((a, b) => (a.interface < b.interface ? -1 : a.interface > b.interface ? 1 : 0));
  const dialed = conns.filter((c) => c.connect !== 'respond-only');
  const sites = [...new Set(conns.filter((c) => c.destinationIsIp).map((c) => token(c.destination, 'site address')))].sort();
  return {
    ikes: conns.map((c) => token(connectionName(c.interface), 'connection')),
    dial: dialed.map((c) => token(connectionName(c.interface), 'connection')),
    children: dialed.flatMap((c) => selectorPairs(t, c).map((_, i) => token(childName(connectionName(c.interface), i), 'child'))),
    v4: sites.filter((a) => !a.includes(':')),
    v6: sites.filter((a) => a.includes(':')),
  };
}

export interface InstanceView {
  name: string;
  /** The listener's line: TUNNELS_MARK and the tenant's Tunnels as JSON. */
  tunnels: string;
  interface: string;
  vrid: number;
  priority: number;
  role: 'active' | 'standby';
  advertInt: string;
  virtual: string[];
  notify: Array<{ event: string; command: string }>;
}

/** The instance of a tenant on a gateway, or undefined when the tenant has no HA role there. */
export function instanceView(t: Tenant, gw: Gateway): InstanceView | undefined {
  const role = haRole(t, gw.name);
  if (!role || !t.network.ha) return undefined;
  const name = token(t.name, 'tenant name');
  const iface = token(t.network.interface, 'interface');
  return {
    name,
    tunnels: `${TUNNELS_MARK}${JSON.stringify({ instance: name, ...tunnelsOf(t) })}`,
    interface: iface,
    vrid: t.network.ha.vrid,
    priority: PRIORITY[role],
    role,
    advertInt: advertInt(t.network.ha.advertInterval ?? ADVERT_INT),
    virtual: virtualAddresses(t, gw.name).map((a) => `${token(a, 'address')} dev ${iface}`),
    notify: (['master', 'backup', 'fault'] as const).map((e) => ({ event: e, command: notifyCommand(t, name, e) })),
  };
}

/**
 * What a notify command does besides writing the state file (docs/ha.md, "Sites"): the tenant's tunnels follow the
 * instance. FAULT (trunk or tenant interface down, charon or FRR gone): terminate the tenant's IKE_SAs (the site gets
 * a delete and its route over that tunnel goes, so it falls back to the partner's tunnel) and, while charon runs, a
 * blackhole host route to each site address, so neither side re-establishes them while this gateway cannot carry the
 * tenant. MASTER or
 * BACKUP (ready, also after a drain): the blackholes go, and the gateway dials each child that is not INSTALLED (not
 * for respond-only connections), so the standby's tunnels are up before it is needed. swanctl reaches charon by its
 * default socket or the one strongswan.conf (STRONGSWAN_CONF) names; errors are ignored (charon may be the reason
 * for the FAULT). Site addresses given as names get no blackhole.
 */
export function notifyCommand(t: Tenant, name: string, event: 'master' | 'backup' | 'fault'): string {
  // The state with the shell's own echo; mkdir (a program start) only when the folder is missing, the first time after
  // boot: each program start before the terminates is time the site's traffic goes into a gateway that cannot carry it
  // (under the lab's emulation seconds each, docs/ha.md).
  const write = `echo ${event.toUpperCase()} > ${stateFile(name)}`;
  // While the listener runs it does the rest (no program start): stop here. /proc//comm does not exist (no pid read).
  const body = [`{ ${write}; } 2>/dev/null || { mkdir -p ${HA_STATE_DIR} && ${write}; }`, `{ read -r p < ${LISTENER_PID} && test -e /proc/$p/comm && exit 0; } 2>/dev/null`];
  const { ikes, dial: dialedIkes, children, v4, v6 } = tunnelsOf(t);
  const routes = (verb: string) =>
    [v4.length ? `for a in ${v4.join(' ')}; do ip route ${verb} blackhole $a; done` : '', v6.length ? `for a in ${v6.join(' ')}; do ip -6 route ${verb} blackhole $a; done` : '']
      .filter(Boolean)
      .map((l) => (verb === 'del' ? `${l} 2>/dev/null` : l));
  if (event === 'fault') {
    // All at once: each site's delete goes out as soon as swanctl reaches charon, not after the previous site's delete
    // completed (the lab's trunk case: the second site's came 5 s after the first, one at a time).
    // --force: after 3 s without the site's answer charon destroys the IKE_SA anyway; else its DELETE is retransmitted
    // into the blackhole that follows and the IKE_SA stays DELETING for minutes, its CHILD_SAs still listed INSTALLED
    // (the lab's run of 03:45 UTC: the gateway did not dial again when ready).
    if (ikes.length) body.push(`for c in ${ikes.join(' ')}; do swanctl --terminate --ike $c --timeout 3 --force & done >/dev/null 2>&1; wait`);
    // The blackholes only while charon runs (it could let the sites back in). With charon gone nothing re-establishes
    // a tunnel, and the kernel still decrypts what the sites send through the dead charon's SAs until their DPD moves
    // them: a blackhole to a site's address would drop that too (the loose reverse-path filter refuses a source whose
    // route back is a blackhole). The lab's kill case lost every reply of its static site to it.
    const bh = routes('replace');
    if (bh.length) body.push(`r=; for f in /proc/[0-9]*/comm; do read -r n < $f || continue; case $n in charon|charon-systemd) r=1;; esac; done 2>/dev/null; if test x$r = x1; then ${bh.join('; ')}; fi`);
  } else {
    body.push(...routes('del'));
    // First the half-open IKE_SAs (CREATED or CONNECTING) and those still DELETING of the connections it dials: while the gateway was in FAULT
    // its own traffic (bgpd dialing the site) hit a trap policy and charon began an IKE_SA whose IKE_AUTH went into the
    // blackhole, retransmitted for minutes; an initiate queues its CHILD_SA behind such an IKE_SA instead of starting
    // afresh (the lab's BGP site stayed down after the trunk case). swanctl --list-sas prints `NAME: #ID, STATE, ...`;
    // the shell's read splits it (no quotes: the command sits in keepalived's double and sh's single quotes).
    if (dialedIkes.length)
      body.push(`for c in ${dialedIkes.join(' ')}; do swanctl --list-sas --ike $c | while read -r n i s r; do case $s in CREATED,|CONNECTING,|DELETING,) i=\${i%,}; swanctl --terminate --ike-id \${i#?} --force;; esac; done; done >/dev/null 2>&1`);
    if (children.length)
      body.push(`for c in ${children.join(' ')}; do swanctl --list-sas --ike \${c%~*} | grep -F $c: | grep -q INSTALLED || swanctl --initiate --child $c --timeout 10; done >/dev/null 2>&1`);
  }
  return `/bin/sh -c '${body.join('; ')}'`;
}

/**
 * The health script: charon (IKE) and zebra (FRR's routes) must run; a gateway without them cannot carry the tenant.
 * charon runs as `charon` under ipsec/starter but as `charon-systemd` on Debian 12's swanctl hosts (the lab found
 * `pidof charon` alone failing on every charon-systemd host). The shell reads each process's name
 * (/proc/PID/comm) with its own builtins: one exec of /bin/sh and nothing else. pidof (sysvinit's killall5) stat()s
 * every process's executable, and pgrep loads procps' dozen libraries: on the lab's guest, whose programs are read
 * over 9p from a loaded host, each exec and library open is a round trip that can stall for seconds, and the runs of
 * `pgrep` there hung past the timeout (docs/ha.md, "In the lab"). /proc/PID/comm takes no lock on the process's
 * memory (cmdline and environ do). A process gone between the glob and the read is skipped.
 */
export const DAEMONS_SCRIPT =
  "/bin/sh -c 'c= z=; for f in /proc/[0-9]*/comm; do read -r n < $f || continue; case $n in charon|charon-systemd) c=1;; zebra) z=1;; esac; done 2>/dev/null; test x$c$z = x11'";
/**
 * Seconds a run of the health script may take before keepalived counts it as failed. keepalived's default is the
 * interval (1 s): on a loaded host (the lab's, load 15 on 2 emulated CPUs) every run of `sh -c pidof ...` timed out,
 * keepalived skipped the next ones ("being timed out, expect idle") and both gateways stayed in FAULT for two
 * minutes, nobody holding the address. A dead daemon still fails at once (pidof returns quickly).
 */
export const DAEMONS_TIMEOUT = 10;

export interface GatewayView {
  vrrpVersion: number;
  daemonsScript: string;
  daemonsTimeout: number;
  routerId: string;
  drainFile: string;
  drainWeight: number;
  notifyFifo: string;
  listenerScript: string;
}

export function gatewayView(gw: Gateway): GatewayView {
  return { vrrpVersion: VRRP_VERSION, daemonsScript: DAEMONS_SCRIPT, daemonsTimeout: DAEMONS_TIMEOUT, routerId: token(gw.name, 'gateway name'), drainFile: DRAIN_FILE, drainWeight: DRAIN_WEIGHT, notifyFifo: NOTIFY_FIFO, listenerScript: LISTENER_SCRIPT };
}
