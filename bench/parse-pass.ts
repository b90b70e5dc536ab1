// A parse-only pass as a whole process: read every gateway and tenant file and run `yaml`'s parse on it, nothing more.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const dir = process.argv[2];
let n = 0;
for (const sub of ['gateways', 'tenants']) {
  for (const name of fs.readdirSync(path.join(dir, sub)).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    parse(fs.readFileSync(path.join(dir, sub, name), 'utf8'));
    n++;
  }
}
process.stdout.write(`parsed ${n} files\n`);
