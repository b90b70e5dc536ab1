// `s2sgw init [DIR]`: a new config repository that validates and builds as it is.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../util/usage';
import { starterFiles } from '../init';
import { writeFileAtomic } from '../bundle/write';
import { Command, EXIT, formatOption, note } from './common';
import { format as formatOpt } from '../util/options';

export const command: Command = {
  name: 'init',
  summary: 'write a new config repository: a gateway, an example tenant, the JSON schemas and the pull-request workflow',
  positionals: [{ name: 'DIR', description: 'where (default: the current folder); it must not hold gateways/ or tenants/ yet', optional: true }],
  options: {
    force: { type: 'boolean', description: 'write even when DIR already holds gateways/ or tenants/ (existing files are kept)' },
    ...formatOpt(['text', 'json']),
  },
  json: `{ "version": 1, "dir": "/abs/path", "written": ["gateways/gw1.yaml", "..."], "kept": [] }`,
  examples: ['s2sgw init netconfig && cd netconfig && s2sgw build'],
  async run({ values, positionals }, io) {
    const json = formatOption(values, ['text', 'json']) === 'json';
    const dir = path.resolve(io.cwd, positionals[0] ?? '.');
    if (!values.force && ['gateways', 'tenants'].some((d) => fs.existsSync(path.join(dir, d)))) {
      throw new UsageError(`${dir} already holds a config repository`, 'pick an empty folder, or pass --force to add only the files that are missing');
    }
    const written: string[] = [];
    const kept: string[] = [];
    for (const [rel, text] of starterFiles()) {
      const p = path.join(dir, rel);
      if (fs.existsSync(p)) {
        kept.push(rel);
        continue;
      }
      writeFileAtomic(p, text, 0o644);
      written.push(rel);
    }
    if (json) io.out(JSON.stringify({ version: 1, dir, written, kept }, null, 2) + '\n');
    else {
      for (const rel of written) note(io, `wrote ${path.join(positionals[0] ?? '.', rel)}`);
      for (const rel of kept) note(io, `kept ${path.join(positionals[0] ?? '.', rel)} (exists)`);
      note(io, 'next: edit gateways/gw1.yaml, then `s2sgw build`; add tenants with `s2sgw tenant new NAME`');
    }
    return EXIT.ok;
  },
};
