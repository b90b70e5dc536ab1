// The sysctl view: the kernel settings a gateway needs, each with the reason it is there. Pure.
import type { Gateway } from '../../model/model';

export interface Setting {
  /** The reason, one or more comment lines (without "# "). */
  why: string[];
  key: string;
  value: string;
}

/**
 * A sysctl.d key for a per-interface setting. An interface name may contain dots, which the dotted
 * form would read as separators; the slash form (sysctl.d(5), procps) keeps them.
 */
export function interfaceKey(prefix: string, iface: string, leaf: string): string {
  return iface.includes('.') ? `${prefix.replace(/\./g, '/')}/${iface}/${leaf}` : `${prefix}.${iface}.${leaf}`;
}

/** The path under /proc/sys a sysctl.d key names. */
export function keyPath(key: string): string {
  return key.includes('/') ? key : key.replace(/\./g, '/');
}

/** Keys that exist only once a module is loaded: checked in the lab VM when this kernel lacks it. */
export const MODULE_KEYS: Array<{ prefix: string; module: string }> = [{ prefix: 'net/vrf/', module: 'vrf' }];

/** Every setting, in file order. Gateway-level: no tenant changes a line. Pure. */
export function settings(gw: Gateway): Setting[] {
  return [
    { why: ['Route between each tenant network and its tunnels: a fresh host forwards nothing.', 'Writing these also sets every existing interface and the default for new ones.'], key: 'net.ipv4.ip_forward', value: '1' },
    { why: [], key: 'net.ipv6.conf.all.forwarding', value: '1' },
    {
      why: [
        'IPv6 forwarding makes the kernel ignore router advertisements (accept_ra 1); 2 keeps the',
        "external interface taking them as before, so an RA-learned default route survives. (On hosts where",
        'systemd-networkd manages it, networkd handles RAs: give its .network IPv6AcceptRA=yes if it needs them.)',
      ],
      key: interfaceKey('net.ipv6.conf', gw.external.interface, 'accept_ra'),
      value: '2',
    },
    {
      why: [
        'Loose reverse-path filter. Strict (1) drops a tunnel\'s packets whenever the best route back to the',
        'source leaves by another interface: a backup connection at a higher metric, or a post-connect route',
        'not yet installed. Loose (2) still drops sources the VRF table has no route for (the check looks up',
        "the tenant's own table). The kernel applies the higher of `all` and the interface's value, so `all` decides.",
      ],
      key: 'net.ipv4.conf.all.rp_filter',
      value: '2',
    },
    {
      why: [
        'Sockets bound to no VRF (sshd and other host services) must not accept connections arriving in a',
        "tenant's VRF. bgpd binds a listener inside each VRF itself, and the kernel notes that with 1 it is",
        'unspecified whether the VRF or the unbound socket takes a connection. 0 is the default; pinned here',
        'because old FRR advice sets it to 1.',
      ],
      key: 'net.ipv4.tcp_l3mdev_accept',
      value: '0',
    },
    { why: [], key: 'net.ipv4.udp_l3mdev_accept', value: '0' },
    {
      why: [
        'Enslaving a device to a VRF cycles it down and up, and a down device loses its IPv6 addresses',
        'unless kept: keep the tenant networks\' static IPv6 addresses.',
      ],
      key: 'net.ipv6.conf.all.keep_addr_on_down',
      value: '1',
    },
    {
      why: [
        'One table per VRF, enforced by the kernel: a VRF made by hand on a tenant\'s table is refused instead',
        "of silently sharing its routes. The key exists once the vrf module is loaded (modules-load.d/s2sgw.conf).",
        'Not set: disable_policy. XFRM interfaces find their policies by if_id and clear traffic carries if_id 0,',
        'so IPsec policy checks stay on everywhere.',
      ],
      key: 'net.vrf.strict_mode',
      value: '1',
    },
  ];
}

/** Kernel modules the gateway's links need, loaded at boot before systemd-sysctl runs. */
export const MODULES: Array<{ name: string; why: string }> = [
  { name: '8021q', why: 'VLAN sub-interfaces of the trunk' },
  { name: 'vrf', why: 'one VRF per tenant; also makes net.vrf.strict_mode exist' },
  { name: 'vxlan', why: 'VXLAN devices of VSID tenants' },
  { name: 'xfrm_interface', why: 'one XFRM interface per connection' },
];

export interface SysctlView {
  settings: Array<{ comments: string[]; line: string }>;
  modules: Array<{ comment: string; name: string }>;
}

export function toView(gw: Gateway): SysctlView {
  return {
    settings: settings(gw).map((s) => ({ comments: s.why.map((w) => `# ${w}`), line: `${s.key} = ${s.value}` })),
    modules: MODULES.map((m) => ({ comment: `# ${m.why}`, name: m.name })),
  };
}
