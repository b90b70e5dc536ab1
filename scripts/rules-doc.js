#!/usr/bin/env node
// Writes docs/rules.md from the diagnostics catalogue (src/validate/catalogue.ts, compiled to dist/): the hand-written
// intro, the JSON shape of `s2sgw rules`, then one section per code. Run `npx tsc -p tsconfig.json` first.
// Usage: node scripts/rules-doc.js [--check]   (--check: exit 1 when docs/rules.md differs, write nothing)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'docs', 'rules.md');

const INTRO = `# Diagnostic codes

\`s2sgw validate\` (and \`build\`, which validates first) reports every finding as a diagnostic with a
code, a message, a place (\`file:line:col\`, 1-based, relative to \`--config\`), usually a hint, and for
conflicts between two places the other place under \`related\`. A conflict between two files is
**one** diagnostic at the later place (in file order) with the earlier place as \`related\`.

Checks run in phases, and every finding of every phase is collected (never first-only):

1. **YAML** (\`yaml/*\`): each file is read and parsed on its own.
2. **Schema** (\`schema/*\`): each parsed file is checked against \`schema/tenant.schema.json\` or
   \`schema/gateway.schema.json\`. The schema is what editors with yaml-language-server use too.
3. **Rules** (every other code): checks across files and inside a tenant, one rule per file in
   \`src/validate/rules/\`, the file name being the code.
4. **Lock file** (\`lock/*\`): \`allocations.lock.yaml\` is checked like a tenant file.
5. **Checks of the generated files** (\`<target>/check\`, \`<target>/tool-missing\`,
   \`<target>/kernel-unsupported\`, \`frr/load\`): \`s2sgw build --check\` runs each generated file
   through the program that reads it on the gateway.

This file is generated from \`src/validate/catalogue.ts\` by \`node scripts/rules-doc.js\` (after
\`npx tsc -p tsconfig.json\`); edit the catalogue, not this file. \`test/catalogue.test.ts\` fails when
a code emitted in \`src/\` has no entry, when an entry is never emitted, or when this file is stale.

**A file with a YAML or schema error is left out of the model**, so the rules do not see it: its
own errors stand, and findings that depend on it (say, a VLAN clash with a tenant whose file does not
parse) appear once it is fixed. This is by design: rules can rely on every value having the
schema's shape, and one broken file does not bury the real problem under follow-on noise. A tenant
that lists a gateway whose file exists but is broken is not reported as \`unknown-gateway\`.

Overlap between different tenants (the same addresses, routes, BGP ASN or router id) is allowed and
validates clean: each tenant has its own VRF. Names and ids the gateway host shares are not.

Secrets: a diagnostic about a \`psk\` or EAP \`secret\` never prints the value, in any format. The text
format's code frames star out the value of every \`psk:\`/\`secret:\` key that is not an \`env:\`/\`file:\`
reference, on every line they show.

Exit codes: 0 clean (warnings allowed), 1 findings, 2 usage (a missing \`--config\` folder, a
missing \`gateways/\` or \`tenants/\` folder, an unknown option or format).

\`s2sgw explain CODE\` prints one entry below in the terminal, and \`s2sgw rules\` lists every code
with its summary. \`s2sgw rules --format json\` prints this shape (version 1; a later version adds
keys, a breaking change raises the number):

\`\`\`json
{"version": 1, "rules": [
  {"code": "duplicate-vlan", "phase": "rules", "severity": "error", "summary": "...",
   "explanation": "markdown", "examples": {"lang": "yaml", "bad": "...", "good": "..."}},
  {"code": "<target>/check", "codes": ["frr/check", "..."], "phase": "check", "...": "..."}
]}
\`\`\`

\`phase\` is one of \`yaml\`, \`schema\`, \`rules\`, \`lock\`, \`check\`; \`severity\` is \`error\`, \`warning\` or
\`error or warning\`; a family (\`<target>/check\`) lists the codes it stands for under \`codes\`.
\`s2sgw explain CODE --format json\` prints \`{"version": 1, "rule": {...}}\` with one such entry.`;

const PHASES = [
  ['yaml', 'YAML', ''],
  ['schema', 'Schema', ''],
  ['rules', 'Rules', ''],
  ['lock', 'Lock file', `\`allocations.lock.yaml\` arrives in the same pull request as the tenant files, so \`validate\`, \`build\`,
\`build --locked\` and \`plan\` check it as strictly as a tenant file before using it, with findings at
the lock file's own lines. It is read like a tenant file too: no link, regular file, at most 64 MiB (it grows
with the fleet, about 110 bytes a tenant), the same alias limit. An absent lock is an empty one.`],
  ['check', 'Checks of the generated files', `\`s2sgw build --check\` runs every generated file through the program that reads it on the gateway, in a
throwaway network namespace or scratch root. These codes come from that step; \`<target>\` is the target
folder under \`src/targets/\` whose check found it.`],
];

const OUTRO = `## Apply refusals

Not diagnostics of the config repository: \`s2sgw apply\` (and \`apply --dry-run\`) prints them as
\`s2sgw apply: step STEP: message\` and exits 1 without changing the host. The two steps that check where a bundle
comes from ([signing.md](signing.md)):

| step | refused |
|---|---|
| \`gateway\` | the bundle was built for another gateway than this host's (\`--gateway\`, \`/etc/s2sgw/gateway\`, the name recorded by the first apply, or the current release's); or \`--gateway\` contradicts the host's recorded name |
| \`signature\` | with \`/etc/s2sgw/allowed_signers\`: no \`manifest.json.sig\`; a signature by a key the file does not trust; a signature that does not match \`manifest.json\` (changed after signing, another namespace, outside the key's validity) |`;

function anchor(code) {
  return code.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

/** docs/rules.md as the catalogue makes it. */
function render(catalogue) {
  const parts = [INTRO, '', `Contents: ${PHASES.map(([, title]) => `[${title}](#${anchor(title)})`).join(' · ')} · [Apply refusals](#apply-refusals)`, ''];
  for (const [phase, title, text] of PHASES) {
    parts.push(`## ${title}`, '');
    if (text) parts.push(text, '');
    for (const e of catalogue.filter((x) => x.phase === phase)) {
      const lang = e.lang || 'yaml';
      parts.push(`## ${e.code}`, `*${e.severity}*: ${e.summary}${e.codes ? ` (${e.codes.map((c) => `\`${c}\``).join(', ')})` : ''}`, '', e.explanation, '');
      const [bad, good] = lang === 'yaml' ? ['Bad:', 'Good:'] : ['What it looks like:', 'After the fix:'];
      if (e.bad) parts.push(bad, '```' + lang, e.bad, '```');
      if (e.good) parts.push(good, '```' + lang, e.good, '```');
      parts.push('');
    }
  }
  parts.push(OUTRO, '');
  return parts.join('\n');
}

module.exports = { render, OUT };

if (require.main === module) {
  const { CATALOGUE } = require(path.join(ROOT, 'dist', 'src', 'validate', 'catalogue.js'));
  const text = render(CATALOGUE);
  if (process.argv.includes('--check')) {
    const now = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    if (now !== text) {
      process.stderr.write('docs/rules.md differs from the catalogue: run `npx tsc -p tsconfig.json && node scripts/rules-doc.js`\n');
      process.exit(1);
    }
  } else fs.writeFileSync(OUT, text);
}
