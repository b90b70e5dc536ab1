// `s2sgw tenant new NAME`: a tenant file with a free VLAN, routing domain, interface names and addresses.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../util/usage';
import { loadConfig } from '../model/load';
import { validate } from '../validate';
import { suggestTenant, tenantFile } from '../init';
import { writeFileAtomic } from '../bundle/write';
import { Command, EXIT, configDir, formatOption, note, printDiagnostics } from './common';
import { CONFIG, format as formatOpt } from '../util/options';

export const command: Command = {
  name: 'tenant',
  summary: 'add a tenant file (tenant new NAME) with a free VLAN, routing domain and addresses on its gateway',
  positionals: [
    { name: 'ACTION', description: 'what to do', choices: ['new'] },
    { name: 'NAME', description: 'the tenant name (lowercase letters, digits, -; at most 15)' },
  ],
  options: {
    ...CONFIG,
    gateway: { type: 'string', short: 'g', value: 'NAME', description: 'the gateway the tenant is on (default: the only one, else required)' },
    'dry-run': { type: 'boolean', short: 'n', description: 'print the file instead of writing it' },
    ...formatOpt(['text', 'json']),
  },
  json: `{ "version": 1, "file": "tenants/acme.yaml", "written": true, "gateway": "gw1", "vlan": 4002, "routingDomain": "{...}",
  "networkInterface": "IfAi1", "connectionInterface": "IfAe1", "address": "192.168.0.9/29", "table": 1003, "zone": 3 }`,
  examples: ['s2sgw tenant new acme', 's2sgw tenant new acme --gateway gw2 --dry-run'],
  async run({ values, positionals }, io) {
    const json = formatOption(values, ['text', 'json']) === 'json';
    const name = positionals[1];
    if (!/^[a-z][a-z0-9-]{0,14}$/.test(name)) throw new UsageError(`tenant name ${JSON.stringify(name)}: 1 to 15 of a-z 0-9 -, starting with a letter`);
    const dir = configDir(values, io);
    const loaded = loadConfig(dir);
    const v = validate(loaded);
    if (!v.ok) {
      printDiagnostics(v.diagnostics, 'text', loaded.files, io, loaded.lock);
      io.err('s2sgw tenant: the repository must validate first\n');
      return EXIT.findings;
    }
    const rel = `tenants/${name}.yaml`;
    if (v.model.tenants.some((t) => t.name === name) || fs.existsSync(path.join(dir, rel))) throw new UsageError(`tenant ${name} exists (${rel})`);
    const gws = v.model.gateways.map((g) => g.name);
    const gateway = (values.gateway as string | undefined) ?? (gws.length === 1 ? gws[0] : undefined);
    if (!gateway) throw new UsageError(`the repository has ${gws.length} gateways: pass --gateway`, `gateways: ${gws.join(', ') || 'none'}`);
    if (!gws.includes(gateway)) throw new UsageError(`no gateway named ${gateway}`, `gateways: ${gws.join(', ')}`);
    const s = suggestTenant(v.model, v.lock, name, gateway);
    const text = tenantFile(name, s);
    const write = !values['dry-run'];
    if (write) writeFileAtomic(path.join(dir, rel), text, 0o644);
    if (json) io.out(JSON.stringify({ version: 1, file: rel, written: write, ...s }, null, 2) + '\n');
    else if (!write) io.out(text);
    else note(io, `wrote ${rel}: VLAN ${s.vlan}, ${s.networkInterface} ${s.address}, routing domain ${s.routingDomain} on ${gateway}; add its connections, then \`s2sgw build\``);
    return EXIT.ok;
  },
};
