// Checks a rendered bundle with every target's real tool, in a scratch copy; findings map back to the YAML.
import * as path from 'node:path';
import type { Diagnostic } from '../model/diagnostics';
import type { Bundle } from './bundle';
import type { Model } from '../model/model';
import { tenantsOn } from '../model/model';
import { TARGETS } from '../targets';
import { withTempDir } from '../util/exec';
import { writeTree } from './write';

/** Runs each target's check over one gateway's bundle. Targets are checked one after another (each may start daemons). */
export async function checkBundle(bundle: Bundle, model: Model, only?: string[]): Promise<Diagnostic[]> {
  if (!bundle.rendered) throw new Error('checkBundle needs the rendered sections: compile with keepRendered');
  const gateway = model.gateways.find((g) => g.name === bundle.gateway)!;
  const tenants = tenantsOn(model, gateway.name);
  return withTempDir('check', async (dir) => {
    const root = path.join(dir, bundle.gateway);
    writeTree(root, bundle.files);
    const out: Diagnostic[] = [];
    for (const t of TARGETS) {
      if (only && !only.includes(t.name)) continue;
      out.push(...(await t.check({ dir: root, files: bundle.rendered ?? [], gateway, tenants })));
    }
    return out;
  });
}
