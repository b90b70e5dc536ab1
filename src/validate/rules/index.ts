// The rule list: every file in this folder but rule.ts and index.ts is one rule, named by its file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from '../../model/diagnostics';
import type { Model, Tenant } from '../../model/model';
import { Rule, context } from './rule';
import { embedded } from '../../util/embedded';

let cache: Rule[] | undefined;

/** All rules, sorted by id. */
export function allRules(): Rule[] {
  if (cache) return cache;
  // The single executable has no folder to list: it embeds the modules (src/util/embedded.ts).
  const names = (embedded.rules ? Object.keys(embedded.rules).map((n) => `${n}.js`) : fs.readdirSync(__dirname))
    .filter((f) => f.endsWith('.js') && f !== 'rule.js' && f !== 'index.js')
    .sort();
  cache = names.map((f) => {
    const mod = (embedded.rules ? embedded.rules[f.replace(/\.js$/, '')]() : require(path.join(__dirname, f))) as { rule: Rule };
    if (!mod.rule || mod.rule.id !== f.replace(/\.js$/, '')) throw new Error(`rule file ${f} must export \`rule\` with id ${f.replace(/\.js$/, '')}`);
    return mod.rule;
  });
  return cache;
}

/** Runs every rule over the model; findings are collected, never first-only. Pure. */
export function runRules(model: Model): Diagnostic[] {
  const ctx = context(model);
  return allRules().flatMap((r) => r.check.call(r, ctx));
}

/** The rules that see every tenant, over the whole model (runRules() without the tenant-scope rules). */
export function runModelRules(model: Model): Diagnostic[] {
  const ctx = context(model);
  return allRules()
    .filter((r) => r.scope !== 'tenant')
    .flatMap((r) => r.check.call(r, ctx));
}

/** The tenant-scope rules over one tenant of the model (with every gateway). */
export function runTenantRules(model: Model, tenant: Tenant): Diagnostic[] {
  const ctx = context({ ...model, tenants: [tenant] });
  return allRules()
    .filter((r) => r.scope === 'tenant')
    .flatMap((r) => r.check.call(r, ctx));
}
