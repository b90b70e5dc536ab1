// The targets, in the order apply reloads them: links and VRFs first, then routing, IPsec, filters, shaping.
import type { Target } from './target';
import { target as sysctl } from './sysctl';
import { target as netplan } from './netplan';
import { target as links } from './links';
import { target as frr } from './frr';
import { target as strongswan } from './strongswan';
import { target as nftables } from './nftables';
import { target as tc } from './tc';

export const TARGETS: Target[] = [sysctl, netplan, links, frr, strongswan, nftables, tc];
