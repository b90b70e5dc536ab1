// `s2sgw peer-config`: prints the customer-premises side of one connection as swanctl.conf (and FRR when BGP runs over it).
import * as path from 'node:path';
import { loadConfig, UsageError } from '../compiler/load';
import { validate } from '../validate';
import { peerConfig, peerConfigLibreswan, LibreswanUnsupported } from '../peer';
import { pskRotation } from '../peer/rotation';
import { writeFileAtomic } from '../compiler/write';
import { Command, EXIT, configDir, formatOption, printDiagnostics } from './common';

export const command: Command = {
  name: 'peer-config',
  summary: "print the customer side of a connection: the site's swanctl.conf (or libreswan's ipsec.conf and ipsec.secrets), and an FRR snippet when BGP runs over it",
  usage: 's2sgw peer-config --tenant T --connection IFACE [--gateway G] [--config DIR] [--out DIR] [--format text|json|libreswan] [--psk-rotation]',
  options: {
    config: { type: 'string', short: 'c' },
    tenant: { type: 'string', short: 't' },
    connection: { type: 'string' },
    gateway: { type: 'string', short: 'g' },
    out: { type: 'string', short: 'o' },
    format: { type: 'string', short: 'f' },
    'psk-rotation': { type: 'boolean' },
  },
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json', 'libreswan']);
    const name = values.tenant as string | undefined;
    const iface = values.connection as string | undefined;
    if (!name || !iface) throw new UsageError('--tenant and --connection are required', 'e.g. s2sgw peer-config --tenant contoso --connection IfCe1');
    const loaded = loadConfig(configDir(values, io));
    const v = validate(loaded);
    if (!v.ok) {
      printDiagnostics(v.diagnostics, 'text', loaded.files, io, loaded.lock);
      return EXIT.findings;
    }
    const t = v.model.tenants.find((x) => x.name === name);
    if (!t) throw new UsageError(`no tenant named ${name}`, `tenants: ${v.model.tenants.map((x) => x.name).join(', ')}`);
    if (!t.connections.some((c) => c.interface === iface)) throw new UsageError(`tenant ${name} has no connection ${iface}`, `its connections: ${t.connections.map((c) => c.interface).join(', ') || 'none'}`);
    const gwName = (values.gateway as string | undefined) ?? (t.gateways.length === 1 ? t.gateways[0] : undefined);
    if (!gwName) throw new UsageError(`tenant ${name} is on ${t.gateways.join(', ')}: pass --gateway`);
    if (!t.gateways.includes(gwName)) throw new UsageError(`tenant ${name} is not on gateway ${gwName}`);
    const gw = v.model.gateways.find((g) => g.name === gwName)!;
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
        io.err(`wrote ${['ipsec.conf', 'ipsec.secrets', ...(lc.frr ? ['frr.conf'] : [])].map((f) => path.join(dir, f)).join(', ')}\n`);
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
      io.err(`wrote ${path.join(dir, 'swanctl.conf')}${pc.frr ? ` and ${path.join(dir, 'frr.conf')}` : ''}\n`);
      return EXIT.ok;
    }
    if (format === 'json') io.out(JSON.stringify(pc, null, 2) + '\n');
    else io.out(pc.swanctl + (pc.frr ? `\n# ---- FRR (the site router; frr.conf) ----\n${pc.frr}` : ''));
    return EXIT.ok;
  },
};
