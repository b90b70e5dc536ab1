// The site's side of a rekey-class change (new IKE or ESP proposals or lifetimes) without a lost packet: the gateway's
// apply holds the new connection (`apply --peer-first`), the site initiates it and then deletes its old CHILD_SA
// (docs/changes.md, "How apply carries out a rekey-class change"). Pure.
import type { Gateway, Tenant } from '../model/model';
import { peerView } from './view';

/** One step of the procedure: who acts, what it does, and the commands (the site's, for a strongSwan site). */
export interface RekeyStep {
  who: 'site' | 'gateway';
  what: string;
  commands: string[];
}

export interface RekeyProcedure {
  tenant: string;
  connection: string;
  gateway: string;
  /** The connection's `connect`: the peer-initiated procedure is for `on-demand` ones (the gateway's trap). */
  connect: 'on-demand' | 'always' | 'respond-only';
  /** Whether the gateway's apply gives the site the first turn with --peer-first (on-demand connections only). */
  peerFirst: boolean;
  /** The new proposals and lifetimes, as the site's swanctl.conf has them. */
  ike: { proposals: string; lifetime: string };
  esp: { proposals: string; lifetime: string };
  steps: RekeyStep[];
}

/** The line the gateway's apply prints when it holds the new connection and waits (src/apply/incremental/swan.ts). */
export const WAITING_LINE = (iface: string) => `${iface}: new proposals loaded held as ...; waiting N s for the peer`;

/** The steps for a strongSwan site (swanctl). The swanctl.conf to load is peer-config's own output for the new release. */
export function rekeyProcedure(t: Tenant, gw: Gateway, iface: string): RekeyProcedure {
  const c = t.connections.find((x) => x.interface === iface);
  if (!c) throw new Error(`tenant ${t.name} has no connection ${iface}`);
  const v = peerView(t, c, gw);
  const unq = (s: string) => s.replace(/^"|"$/g, '');
  const kids = v.children.map((k) => k.name);
  const base = { tenant: t.name, connection: iface, gateway: gw.name, connect: c.connect, ike: { proposals: unq(v.proposals), lifetime: unq(v.rekeyTime) }, esp: { proposals: unq(v.child.espProposals), lifetime: unq(v.child.rekeyTime) } };
  const load: RekeyStep = {
    who: 'site',
    what: 'before the gateway\'s apply: put the new connection (peer-config\'s swanctl.conf for the new release) in your swanctl.conf and load it; your established SAs keep their old proposals, nothing changes on the wire',
    commands: ['swanctl --load-conns'],
  };
  if (c.connect === 'respond-only') {
    return {
      ...base,
      peerFirst: false,
      steps: [
        load,
        { who: 'gateway', what: 'its operator applies the new release: the connection is loaded in place (the gateway never initiates it), its new proposals take effect with the next IKE_SA you initiate', commands: [] },
        {
          who: 'site',
          what: 'to use the new proposals now, after the apply: note the old CHILD_SA and IKE_SA ids, initiate the new connection, delete the old CHILD_SA, then the old IKE_SA (this order loses least; the gateway, responder of the new CHILD_SA and not held, may lose a few packets it sends before you read its answer: docs/changes.md)',
          commands: [`swanctl --list-sas --ike ${v.name}`, ...kids.map((k) => `swanctl --initiate --ike ${v.name} --child ${k} --timeout 30`), 'swanctl --terminate --child-id OLD_CHILD_SA_ID --timeout 10', 'swanctl --terminate --ike-id OLD_IKE_SA_ID'],
        },
      ],
    };
  }
  if (c.connect === 'always') {
    return {
      ...base,
      peerFirst: false,
      steps: [
        load,
        { who: 'gateway', what: 'its operator applies the new release: the gateway initiates the new connection itself (make-before-break; `connect: always` is never held, --peer-first does not apply), then ends the old IKE_SA; up to a few packets you send on the new CHILD_SA before the gateway installs it are lost (docs/changes.md)', commands: [] },
        { who: 'site', what: 'nothing more', commands: [] },
      ],
    };
  }
  return {
    ...base,
    peerFirst: true,
    steps: [
      load,
      {
        who: 'site',
        what: `note the id of each CHILD_SA now carrying the traffic: in \`swanctl --list-sas --ike ${v.name}\`, the number after "${kids.join('", "')}: #" on its CHILD_SA line (the indented one, with reqid)`,
        commands: [`swanctl --list-sas --ike ${v.name}`],
      },
      {
        who: 'gateway',
        what: `its operator runs \`s2sgw apply --bundle ... --peer-first SECONDS\` and tells you when it prints "${WAITING_LINE(iface)}": from then on the gateway holds its new connection and waits (do not initiate before: the gateway's old connection would answer)`,
        commands: [],
      },
      {
        who: 'site',
        what: 'within those seconds: initiate the new connection (the gateway answers it and keeps sending on the old CHILD_SA), and as soon as that returned, delete the old CHILD_SA (not the IKE_SA): the gateway ends its own old CHILD_SA before it answers, so both sides move to the new one without a lost packet; the gateway then ends the old IKE_SA',
        commands: [...kids.map((k) => `swanctl --initiate --ike ${v.name} --child ${k} --timeout 30`), 'swanctl --terminate --child-id OLD_CHILD_SA_ID --timeout 10'],
      },
      {
        who: 'gateway',
        what: 'if you did not initiate within SECONDS, the gateway initiates the new connection itself (a few packets may be lost); if you initiated but did not delete the old CHILD_SA, the gateway ends the old IKE_SA after 30 s (some packets lost); either way the apply succeeds and the new proposals are in use',
        commands: [],
      },
    ],
  };
}

/** The procedure as the site's admin reads it: comment lines, then the swanctl.conf to load (`swanctl`). */
export function rekeyText(p: RekeyProcedure, swanctl: string): string {
  const wrap = (s: string, indent: string) => {
    const out: string[] = [];
    let line = '';
    for (const w of s.split(' ')) {
      if (line && (indent + line + ' ' + w).length > 116) {
        out.push(indent + line);
        line = w;
      } else line = line ? `${line} ${w}` : w;
    }
    if (line) out.push(indent + line);
    return out;
  };
  const lines = [
    `# Proposal change (rekey class) of ${p.tenant}/${p.connection} on gateway ${p.gateway}: the site's side (docs/changes.md)`,
    `# New proposals: IKE ${p.ike.proposals} (lifetime ${p.ike.lifetime}), ESP ${p.esp.proposals} (lifetime ${p.esp.lifetime})`,
    `# connect: ${p.connect}${p.peerFirst ? ' (lossless when the gateway applies with --peer-first and you follow steps 3 and 4)' : ''}`,
    '#',
  ];
  p.steps.forEach((s, i) => {
    lines.push(...wrap(`Step ${i + 1} (${s.who === 'site' ? 'you' : 'the gateway'}): ${s.what}${s.commands.length ? ':' : '.'}`, '# ').map((l, j) => (j ? l.replace(/^# /, '#   ') : l)));
    for (const cmd of s.commands) lines.push(`#     ${cmd}`);
    lines.push('#');
  });
  lines.push('# ---- the new connection (your swanctl.conf) ----', '');
  return lines.join('\n') + swanctl;
}
