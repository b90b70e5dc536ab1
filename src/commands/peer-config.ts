// `s2sgw peer-config`: prints the customer-premises side of one connection as swanctl.conf (and FRR when BGP runs over it).
import * as path from 'node:path';
import { loadConfig, UsageError } from '../model/load';
import { validate } from '../validate';
import { peerConfig, peerConfigLibreswan, peerConfigPair, LibreswanUnsupported } from '../peer';
import { pskRotation } from '../peer/rotation';
import { rekeyProcedure, rekeyText } from '../peer/rekey';
import { writeFileAtomic } from '../bundle/write';
import { Command, EXIT, configDir, formatOption, note, printDiagnostics } from './common';
import { CONFIG, format as formatOpt } from '../util/options';

export const command: Command = {
  name: 'peer-config',
  summary: "print the customer side of a connection: the site's swanctl.conf (or libreswan's ipsec.conf and ipsec.secrets), and an FRR snippet when BGP runs over it",
  options: {
    tenant: { type: 'string', short: 't', value: 'NAME', required: true, description: 'the tenant', example: '--tenant contoso' },
    connection: { type: 'string', value: 'IFACE', required: true, description: 'the connection, by its interface name', example: '--connection IfCe1' },
    gateway: { type: 'string', short: 'g', value: 'NAME', description: 'the gateway side (needed when the tenant is on several)' },
    ...CONFIG,
    'psk-rotation': { type: 'boolean', description: "print the site's side of each stage of a PSK rotation instead of the connection (docs/psk-rotation.md)" },
    rekey: { type: 'boolean', description: "print the site's steps for a proposal change (rekey class) without a lost packet, with the new connection: load it, initiate it once the gateway's `apply --peer-first` waits, delete the old CHILD_SA (docs/changes.md); json: the same as data" },
    out: { type: 'string', short: 'o', value: 'DIR', description: 'write the files into DIR instead of printing them' },
    ...formatOpt(['text', 'json', 'libreswan'], 'text: swanctl.conf (+ FRR); json: the same as data; libreswan: ipsec.conf and ipsec.secrets'),
  },
  json: `{
  "version": 1,
  "tenant": "contoso",
  "connection": "IfCe1",
  "gateway": "gw1",
  "swanctl": "connections { ... }",      // the site's swanctl.conf
  "frr": "router bgp ...",               // only when BGP runs over the connection
  "secrets": [{ "section": "ike-...", "ref": "..." }]  // which secrets the site needs (references, never values)
}
// --rekey --format json: the site's steps for a proposal change (docs/changes.md)
{
  "version": 1,
  "tenant": "contoso",
  "connection": "IfCe1",
  "gateway": "gw1",
  "connect": "on-demand",              // on-demand | always | respond-only
  "peerFirst": true,                   // the gateway's apply --peer-first holds the new connection for the site
  "ike": { "proposals": "aes128gcm16-prfsha256-ecp256", "lifetime": "8h" },
  "esp": { "proposals": "aes128gcm16-ecp256", "lifetime": "1h" },
  "steps": [{ "who": "site", "what": "...", "commands": ["swanctl --load-conns"] }],
  "swanctl": "connections { ... }"       // the new connection (secrets as references, never values)
}`,
  examples: ['s2sgw peer-config --tenant contoso --connection IfCe1', 's2sgw peer-config --tenant contoso --connection IfCe1 --rekey', 's2sgw peer-config --tenant contoso --connection IfCe1 --format libreswan --out site/'],
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json', 'libreswan']);
    // Both required: the parser refuses to run without them.
    const name = values.tenant as string;
    const iface = values.connection as string;
    const loaded = loadConfig(configDir(values, io));
    const v = validate(loaded);
    if (!v.ok) {
      printDiagnostics(v.diagnostics, 'text', loaded.files, io, loaded.lock);
      return EXIT.findings;
    }
    const t = v.model.tenants.find((x) => x.name === name);
    if (!t) throw new UsageError(`no tenant named ${name}`, `tenants: ${v.model.tenants.map((x) => x.name).join(', ')}`);
    if (!t.connections.some((c) => c.interface === iface)) throw new UsageError(`tenant ${name} has no connection ${iface}`, `its connections: ${t.connections.map((c) => c.interface).join(', ') || 'none'}`);
    if (values.rekey) {
      if (values['psk-rotation']) throw new UsageError('--rekey and --psk-rotation are two procedures: pass one');
      if (values.out) throw new UsageError('--rekey prints the steps (with the new connection): it takes no --out');
      if (format === 'libreswan') throw new UsageError('--rekey: the peer-initiated steps are written for strongSwan sites (swanctl)', 'a libreswan site: load its new ipsec.conf (peer-config --format libreswan) and let the gateway initiate (apply without --peer-first)');
      if (t.network.ha && t.gateways.length === 2) throw new UsageError(`--rekey: ${name} is an HA pair: its steps are not written for a pair's two tunnels yet`, 'load the new connections (peer-config without --rekey) and let the gateways initiate (apply without --peer-first)');
    }
    if (!values.gateway && t.network.ha && t.gateways.length === 2 && format !== 'libreswan') {
      // An HA pair: both tunnels, and BGP to both gateways or one outbound interface with policy priorities (docs/ha.md, "Sites").
      const gws = t.gateways.map((g) => v.model.gateways.find((x) => x.name === g)!);
      const pc = peerConfigPair(t, gws, iface);
      if (values.out) {
        const dir = path.resolve(io.cwd, values.out as string);
        const updown = pc.updownPath ? path.basename(pc.updownPath) : undefined;
        const names = ['swanctl.conf', ...(pc.frr ? ['frr.conf'] : []), ...(pc.routes ? ['routes.sh'] : []), ...(updown ? [updown] : [])];
        writeFileAtomic(path.join(dir, 'swanctl.conf'), pc.swanctl, 0o644);
        if (pc.frr) writeFileAtomic(path.join(dir, 'frr.conf'), pc.frr, 0o644);
        if (pc.routes) writeFileAtomic(path.join(dir, 'routes.sh'), pc.routes, 0o644);
        if (updown && pc.updown) writeFileAtomic(path.join(dir, updown), pc.updown, 0o755);
        io.err(`wrote ${names.map((f) => path.join(dir, f)).join(', ')}\n`);
        return EXIT.ok;
      }
      if (format === 'json') io.out(JSON.stringify(pc, null, 2) + '\n');
      else io.out(pc.swanctl + (pc.frr ? `\n# ---- FRR (the site router; frr.conf) ----\n${pc.frr}` : '') + (pc.routes ? `\n# ---- routes (the site router) ----\n${pc.routes}` : '') + (pc.updown ? `\n# ---- ${pc.updownPath} (the site's updown script) ----\n${pc.updown}` : ''));
      return EXIT.ok;
    }
    const gwName = (values.gateway as string | undefined) ?? (t.gateways.length === 1 ? t.gateways[0] : undefined);
    if (!gwName) throw new UsageError(`tenant ${name} is on ${t.gateways.join(', ')}: pass --gateway`);
    if (!t.gateways.includes(gwName)) throw new UsageError(`tenant ${name} is not on gateway ${gwName}`);
    const gw = v.model.gateways.find((g) => g.name === gwName)!;
    if (values.rekey) {
      // The site's side of a rekey-class change (docs/changes.md): the steps, then the new connection to load.
      const p = rekeyProcedure(t, gw, iface);
      const pc = peerConfig(t, gw, iface);
      if (format === 'json') io.out(JSON.stringify({ version: 1, ...p, swanctl: pc.swanctl }, null, 2) + '\n');
      else io.out(rekeyText(p, pc.swanctl));
      return EXIT.ok;
    }
    if (values['psk-rotation']) {
      // The site's side of each stage of a PSK rotation (docs/psk-rotation.md): text for the peer's admin.
      const c = t.connections.find((x) => x.interface === iface)!;
      if (c.auth.kind !== 'psk') throw new UsageError(`${name}/${iface} authenticates with ${c.auth.kind}: --psk-rotation is for PSK connections`);
      io.out(pskRotation(t, gw, iface, format === 'libreswan' ? 'libreswan' : 'strongswan'));
      return EXIT.ok;
    }
    if (format === 'libreswan') {
      let lc;
      try {
        lc = peerConfigLibreswan(t, gw, iface);
      } catch (e) {
        if (e instanceof LibreswanUnsupported) throw new UsageError(`${name}/${iface}: ${e.message}`, 'use --format text for the swanctl.conf of a strongSwan site');
        throw e;
      }
      if (values.out) {
        const dir = path.resolve(io.cwd, values.out as string);
        writeFileAtomic(path.join(dir, 'ipsec.conf'), lc.ipsecConf, 0o644);
        // Placeholders only, but the customer puts the key here: the file starts private.
        writeFileAtomic(path.join(dir, 'ipsec.secrets'), lc.ipsecSecrets, 0o600);
        if (lc.frr) writeFileAtomic(path.join(dir, 'frr.conf'), lc.frr, 0o644);
        note(io, `wrote ${['ipsec.conf', 'ipsec.secrets', ...(lc.frr ? ['frr.conf'] : [])].map((f) => path.join(dir, f)).join(', ')}\n`);
        return EXIT.ok;
      }
      io.out(lc.ipsecConf + `\n# ---- ipsec.secrets ----\n${lc.ipsecSecrets}` + (lc.frr ? `\n# ---- FRR (the site router; frr.conf) ----\n${lc.frr}` : ''));
      return EXIT.ok;
    }
    const pc = peerConfig(t, gw, iface);
    if (values.out) {
      const dir = path.resolve(io.cwd, values.out as string);
      writeFileAtomic(path.join(dir, 'swanctl.conf'), pc.swanctl, 0o644);
      if (pc.frr) writeFileAtomic(path.join(dir, 'frr.conf'), pc.frr, 0o644);
      note(io, `wrote ${path.join(dir, 'swanctl.conf')}${pc.frr ? ` and ${path.join(dir, 'frr.conf')}` : ''}\n`);
      return EXIT.ok;
    }
    if (format === 'json') io.out(JSON.stringify({ version: 1, tenant: name, connection: iface, gateway: gwName, ...pc }, null, 2) + '\n');
    else io.out(pc.swanctl + (pc.frr ? `\n# ---- FRR (the site router; frr.conf) ----\n${pc.frr}` : ''));
    return EXIT.ok;
  },
};
