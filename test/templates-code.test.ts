// src/targets/templates-code.ts is exactly what scripts/templates-code.js makes of today's templates, and a template
// edited since it was made is compiled from its text (the output is the text's, never a stale precompiled one).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Handlebars from 'handlebars';
import { ROOT } from './helpers';
import { COMPILE_OPTIONS, compileTemplate, templateFile } from '../src/targets/target';
import { TEMPLATES } from '../src/targets/templates-code';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const gen = require(path.join(ROOT, 'scripts', 'templates-code.js')) as { templatesCode(): string; FILE: string };

test('src/targets/templates-code.ts is current (after editing a template: node scripts/templates-code.js)', () => {
  assert.ok(fs.readFileSync(gen.FILE, 'utf8') === gen.templatesCode(), 'src/targets/templates-code.ts differs from what scripts/templates-code.js writes: run it');
  assert.ok(Object.keys(TEMPLATES).length > 20, 'every template is there');
});

test('a precompiled template is strict as Handlebars compiling its text is; an edited one renders its new text, with the join helper', () => {
  const rel = 'targets/frr/bgp.hbs';
  assert.ok(Object.hasOwn(TEMPLATES, rel));
  const text = fs.readFileSync(path.join(ROOT, 'src', rel), 'utf8');
  const h = Handlebars.create();
  h.registerHelper('join', (list: unknown[], sep: unknown) => (Array.isArray(list) ? list.join(typeof sep === 'string' ? sep : ', ') : ''));
  // A missing field is an error either way (strict).
  assert.throws(() => templateFile(rel)({}));
  assert.throws(() => h.compile(text, COMPILE_OPTIONS)({}));
  // (The golden bundles of build.test.ts are the same output, made through the precompiled templates.)
  const view = { names: ['a', 'b'] };
  // An edited template: its new text, not the precompiled one.
  assert.is(compileTemplate(rel, 'edited {{join names "+"}}\n')(view), 'edited a+b\n');
  assert.is(compileTemplate('targets/no/such.hbs', '{{join names}}\n')(view), 'a, b\n');
});

test.run();
