// HA pairs on a host (docs/ha.md): what keepalived says of each HA tenant (its state file), the gateway's drain file,
// and drain/undrain: move this gateway's tenants to the partner (VRRP priority via keepalived's track_file, BGP
// AS-path prepend on the out route-maps) and wait, up to a deadline, until the move happened.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Runner } from './runner';
import { layout, currentLink, readState } from './layout';
import { openRelease } from './release';
import { DRAIN_FILE, stateFile } from '../targets/keepalived/paths';
import { listName, STANDBY_PREPEND } from '../targets/frr/view';
import { familyOf } from '../model/formats';
import type { TenantSummary } from '../model/summary';
import { readIfExists } from './fsx';

export interface HaTenantState {
  tenant: string;
  role: 'active' | 'standby';
  partner: string;
  vrid: number;
  /** keepalived's state for the tenant on this host (MASTER, BACKUP, FAULT), or null when it has written none. */
  state: string | null;
  /** Which gateway holds the tenant's address, as far as this host can tell. */
  holder: string | null;
  /** This host is ready to take over (BACKUP and not drained), or holds the address itself. */
  ready: boolean;
}

/** The gateway name the current release was built for, and its HA tenants' summaries. */
function haTenants(runner: Runner): { gateway: string; tenants: Array<[string, TenantSummary]> } {
  const l = layout(runner);
  const name = currentLink(l) ?? readState(l).current;
  const release = name ? openRelease(l, name) : null;
  if (!release) throw new Error('no release is applied on this host');
  const tenants = Object.entries(release.manifest.tenants)
    .map(([t, m]): [string, TenantSummary] => [t, m.summary])
    .filter(([, s]) => s?.ha)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return { gateway: release.manifest.gateway, tenants };
}

/** Whether the host's current release has HA tenants (false without a release). */
export function hasHaTenants(runner: Runner): boolean {
  try {
    return haTenants(runner).tenants.length > 0;
  } catch {
    return false;
  }
}

export function isDrained(runner: Pick<Runner, 'host'>): boolean {
  return (readIfExists(runner.host(DRAIN_FILE)) ?? '0').trim() !== '0';
}

/** Each HA tenant's state on this host. Never changes anything. */
export function haStatus(runner: Runner, only?: string[]): { gateway: string; drained: boolean; tenants: HaTenantState[] } {
  const { gateway, tenants } = haTenants(runner);
  const drained = isDrained(runner);
  return {
    gateway,
    drained,
    tenants: tenants
      .filter(([t]) => !only?.length || only.includes(t))
      .map(([t, s]) => {
        const ha = s.ha!;
        const state = readIfExists(runner.host(stateFile(t)))?.trim() || null;
        const holder = state === 'MASTER' ? gateway : state === 'BACKUP' ? ha.partner : null;
        return { tenant: t, role: ha.role, partner: ha.partner, vrid: ha.vrid, state, holder, ready: state === 'MASTER' || (state === 'BACKUP' && !drained) };
      }),
  };
}

/** The vtysh lines that add (or remove) the drain prepend on a BGP tenant's out route-maps. Pure. */
export function bgpDrainLines(tenant: string, s: TenantSummary, drain: boolean): string[] {
  const b = s.bgp;
  if (!b) return [];
  // The standby always prepends (frr.conf): undrain leaves it; drain on the active adds the same prepend.
  if (s.ha?.role === 'standby') return [];
  const fams = new Set<4 | 6>([...Object.keys(b.neighbors).map(familyOf), ...b.advertise.map(familyOf)]);
  const lines: string[] = [];
  for (const f of [...fams].sort()) {
    lines.push(`route-map ${listName(tenant, 'out', f)} permit 10`, drain ? `set as-path prepend ${Array(STANDBY_PREPEND).fill(String(b.asn)).join(' ')}` : 'no set as-path prepend', 'exit');
  }
  return lines;
}

export interface DrainResult {
  moved: boolean;
  seconds: number;
  tenants: HaTenantState[];
}

/**
 * Drains (or undrains) this gateway: writes the drain file keepalived tracks, changes the BGP prepend, then waits
 * until no HA tenant is MASTER here (drain) or every active-role tenant is MASTER again (undrain), or the deadline.
 */
export async function drain(runner: Runner, on: boolean, deadlineSeconds: number, say: (l: string) => void): Promise<DrainResult> {
  const t0 = Date.now();
  const { tenants } = haTenants(runner);
  const file = runner.host(DRAIN_FILE);
  if (!runner.dryRun) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, on ? '1\n' : '0\n');
  }
  say(`${on ? 'drain' : 'undrain'}: ${DRAIN_FILE} = ${on ? 1 : 0} (keepalived priority ${on ? 'below' : 'back above'} the partner)`);
  if (!runner.skipped('frr')) {
    const cmds = tenants.flatMap(([t, s]) => {
      const lines = bgpDrainLines(t, s, on);
      return lines.length ? [...lines, `do clear bgp vrf ${t} * soft out`] : [];
    });
    if (cmds.length) {
      await runner.must('vtysh', [...(runner.frrPathspace ? ['-N', runner.frrPathspace] : []), '-c', 'configure terminal', ...cmds.flatMap((c) => ['-c', c])]);
      say(`${on ? 'drain' : 'undrain'}: BGP AS-path prepend ${on ? 'added to' : 'removed from'} the active tenants' out route-maps`);
    }
  }
  const done = (st: HaTenantState[]) => (on ? st.every((x) => x.state !== 'MASTER') : st.filter((x) => x.role === 'active').every((x) => x.state === 'MASTER'));
  let st = haStatus(runner).tenants;
  while (!runner.dryRun && !done(st) && Date.now() - t0 < deadlineSeconds * 1000) {
    await new Promise((r) => setTimeout(r, 200));
    st = haStatus(runner).tenants;
  }
  return { moved: runner.dryRun || done(st), seconds: (Date.now() - t0) / 1000, tenants: st };
}
