// src/validate/schema-code.ts is exactly what scripts/schema-code.js makes of today's schemas and options, and its
// validators judge as ajv's own compile of the same schemas does, errors and all.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Ajv2020 from 'ajv/dist/2020';
import { ROOT } from './helpers';
import { SCHEMA_OPTIONS } from '../src/validate/schema-options';
import { FORMATS } from '../src/model/formats';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const gen = require(path.join(ROOT, 'scripts', 'schema-code.js')) as { schemaCode(): string; FILE: string };

test('src/validate/schema-code.ts is current (after a schema change: node scripts/schema-code.js)', () => {
  assert.ok(fs.readFileSync(gen.FILE, 'utf8') === gen.schemaCode(), 'src/validate/schema-code.ts differs from what scripts/schema-code.js writes: run it');
});

test('the generated validators give the errors ajv compiling the schemas at run time gives', () => {
  const code = require('../src/validate/schema-code') as Record<'gateway' | 'tenant', ((d: unknown) => boolean) & { errors?: unknown }>;
  const ajv = new Ajv2020({ ...SCHEMA_OPTIONS });
  for (const [name, fn] of Object.entries(FORMATS)) ajv.addFormat(name, { type: 'string', validate: fn });
  // As src/validate/schema.ts compiled them at run time before (the formats as typed objects).
  for (const kind of ['gateway', 'tenant']) ajv.addSchema(JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', `${kind}.schema.json`), 'utf8')), `${kind}.schema.json`);
  const tenant = ajv.getSchema('tenant.schema.json')!;
  const gateway = ajv.getSchema('gateway.schema.json')!;
  const good = { tenant: 'contoso', gateway: 'gw1', network: { vlan: 100, addresses: ['10.1.0.1/24'] }, connections: [] };
  const cases: Array<['gateway' | 'tenant', unknown]> = [
    ['tenant', good],
    ['tenant', { ...good, tenant: 'Bad Name', extra: 1 }],
    ['tenant', { ...good, network: { vlan: 'x', addresses: ['10.1.0.1/33', 'nope'] } }],
    ['tenant', { tenant: 'a', connections: [{ interface: 'IfA1', remote: { address: '300.1.1.1' }, routes: [{ to: '10.0.0.0/8', metric: -1 }] }] }],
    ['tenant', []],
    ['gateway', { gateway: 'gw1', external: { interface: 'eth0', addresses: ['203.0.113.1'] }, trunk: { interface: 'eth1' } }],
    ['gateway', { gateway: 'GW', external: { interface: 'eth0', addresses: [] }, trunk: 5 }],
  ];
  let invalid = 0;
  for (const [kind, data] of cases) {
    const want = (kind === 'tenant' ? tenant : gateway)(data);
    assert.is(code[kind](data), want, `${kind} ${JSON.stringify(data)}`);
    assert.equal(code[kind].errors ?? null, (kind === 'tenant' ? tenant : gateway).errors ?? null, `${kind} ${JSON.stringify(data)}: errors`);
    if (!want) invalid++;
  }
  assert.ok(invalid >= 4, 'most cases are invalid: the errors are compared');
});

test.run();
