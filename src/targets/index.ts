// The targets, in the order apply reloads them: links and VRFs first, then routing, IPsec, filters, shaping, and VRRP last (it takes the
// tenant address only once everything behind it is in place).
import type { Target } from './target';
import { target as sysctl } from './sysctl';
import { target as netplan } from './netplan';
import { target as links } from './links';
import { target as frr } from './frr';
import { target as strongswan } from './strongswan';
import { target as nftables } from './nftables';
import { target as tc } from './tc';
import { target as keepalived } from './keepalived';

export const TARGETS: Target[] = [sysctl, netplan, links, frr, strongswan, nftables, tc, keepalived];
