#!/usr/bin/env node
// Builds the sandbox's bundles: the apply tests' fixture releases v1, v2 and v3 (test/fixtures/apply), one bundle
// per simulated gateway (its manifest names the gateway, a source commit and its rollout wave: the gateways' order
// on the command line, as inventory.yml's s2sgw_wave), each signed with the sandbox's CI key,
// laid out as `s2sgw build` lays out out/: <out>/<version>/<gateway>/, and packed as <out>/<version>/<gateway>.tar.gz.
// Usage: node bundles.js OUT KEY GATEWAY...
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { createHash } = require('node:crypto');
const { spawnSync } = require('node:child_process');

const repo = path.resolve(__dirname, '..', '..', '..');
const { fixtureBundle } = require(path.join(repo, 'dist', 'src', 'apply', 'sandbox.js'));
// `s2sgw sign`, in this process (one node start instead of one per bundle).
const sign = require(path.join(repo, 'dist', 'src', 'commands', 'sign.js')).command;
const [out, key, ...gateways] = process.argv.slice(2);
if (!out || !key || !gateways.length) {
  process.stderr.write('usage: node bundles.js OUT KEY GATEWAY...\n');
  process.exit(2);
}
async function main() {
for (const v of ['v1', 'v2', 'v3']) {
  const commit = createHash('sha1').update(`sandbox ${v}`).digest('hex');
  for (const [wave, g] of gateways.entries()) {
    const dir = path.join(out, v, g);
    fixtureBundle(path.join(repo, 'test', 'fixtures', 'apply', v), dir);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const { compiler, tenants, files, gatewayDigest } = m;
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ compiler, gateway: g, source: { commit, dirty: false }, rollout: { wave }, gatewayDigest, tenants, files }, null, 2) + '\n');
    let err = '';
    const code = await sign.run({ values: { bundle: dir, key }, positionals: [] }, { out: () => {}, err: (s) => (err += s), color: false, env: process.env, cwd: process.cwd() });
    if (code !== 0) {
      process.stderr.write(`s2sgw sign ${dir}: ${err}`);
      process.exit(1);
    }
    // What CI hands the rollout: the signed bundle folder as one archive per gateway.
    const t = spawnSync('tar', ['-C', path.join(out, v), '-czf', path.join(out, v, `${g}.tar.gz`), g], { encoding: 'utf8' });
    if (t.status !== 0) {
      process.stderr.write(`tar ${dir}: ${t.stderr}`);
      process.exit(1);
    }
  }
}
}

main();
