// The link batch files' paths and the order apply runs them in: no renderer here, so apply does not load the templates.

export const LINKS_BATCH = 'links.ipbatch';
export const NETPLAN_BATCH = 'netplan/90-s2sgw.ipbatch';
export const NETPLAN_FDB = 'netplan/90-s2sgw.fdb';

/** The order apply runs them in: VRFs and tenant networks, their flood entries, then the XFRM interfaces. */
export const BATCH_ORDER: Array<{ path: string; tool: 'ip' | 'bridge' }> = [
  { path: NETPLAN_BATCH, tool: 'ip' },
  { path: NETPLAN_FDB, tool: 'bridge' },
  { path: LINKS_BATCH, tool: 'ip' },
];
