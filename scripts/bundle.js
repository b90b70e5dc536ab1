#!/usr/bin/env node
// Builds the single executable the Debian package ships (docs/packaging.md): esbuild bundles the compiled
// dist/src into one script, with the templates, init's workflow and rule modules embedded (src/util/embedded.ts), then Node's single
// executable application support injects that script into a copy of this machine's node.
// Usage: node scripts/bundle.js OUTDIR   (after tsc; writes OUTDIR/s2sgw.js and OUTDIR/s2sgw)
//        S2SGW_DIST=dist-NAME: bundle that compiled tree instead of dist (a test's own)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const out = path.resolve(process.argv[2] || path.join(root, 'dist', 'pkg', 'build'));
const dist = path.resolve(root, process.env.S2SGW_DIST || 'dist');
const rel = (p) => './' + path.relative(root, p).split(path.sep).join('/');

/** Every file under dir whose name ends with ext, as paths relative to dir with forward slashes, sorted. */
function list(dir, ext) {
  const found = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(ext)) found.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return found.sort();
}

// The entry: what dist/src reads from disk beside itself goes into src/util/embedded.ts's object, then the CLI runs.
const src = path.join(root, 'src');
const templates = Object.fromEntries(list(src, '.hbs').map((t) => [t, fs.readFileSync(path.join(src, t), 'utf8')]));
// Files read from the repository at run time (init's workflow: src/init/index.ts), by their path in it.
const files = Object.fromEntries(['examples/github/s2sgw.yml'].map((f) => [f, fs.readFileSync(path.join(root, f), 'utf8')]));
const rulesDir = path.join(dist, 'src', 'validate', 'rules');
const rules = list(rulesDir, '.js').filter((f) => !f.includes('/') && f !== 'rule.js' && f !== 'index.js');
const entry = `'use strict';
const { embedded } = require(${JSON.stringify(rel(path.join(dist, 'src/util/embedded.js')))});
embedded.templates = ${JSON.stringify(templates)};
embedded.files = ${JSON.stringify(files)};
embedded.rules = {
${rules.map((f) => `  ${JSON.stringify(f.replace(/\.js$/, ''))}: () => require(${JSON.stringify(rel(path.join(rulesDir, f)))}),`).join('\n')}
};
embedded.timerArgs = ['confirm-timer'];
embedded.listenerArgs = ['ha-listen'];
// A single executable sees its own path as argv[1], as node would see a script's.
const argv = process.argv.slice(2);
if (argv[0] === 'confirm-timer') require(${JSON.stringify(rel(path.join(dist, 'src/apply/confirm-timer.js')))}).timerMain(argv[1] || '/');
else if (argv[0] === 'ha-listen') require(${JSON.stringify(rel(path.join(dist, 'src/apply/ha-listen.js')))}).listenMain(argv.slice(1));
else require(${JSON.stringify(rel(path.join(dist, 'src/cli.js')))}).run(argv);
`;

fs.mkdirSync(out, { recursive: true });
const script = path.join(out, 's2sgw.js');
esbuild.buildSync({
  stdin: { contents: entry, resolveDir: root, sourcefile: 'entry.js', loader: 'js' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: script,
  legalComments: 'none',
  logLevel: 'warning',
});

// Node's single executable application: a blob of the script (with its V8 code cache for a quicker start),
// injected into a copy of node whose SEA fuse postject flips.
const blob = path.join(out, 'sea.blob');
const config = path.join(out, 'sea-config.json');
fs.writeFileSync(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'pipe' });
const exe = path.join(out, 's2sgw');
fs.copyFileSync(process.execPath, exe);
fs.chmodSync(exe, 0o755);
// Symbols and the compiler's notes are not needed to run; strip them before the injection (after would drop the blob).
execFileSync('strip', ['--strip-unneeded', '--remove-section=.comment', exe], { stdio: 'pipe' });
execFileSync(process.execPath, [require.resolve('postject/dist/cli.js'), exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: 'pipe' });
process.stdout.write(`bundle: ${path.relative(root, exe)} (${(fs.statSync(exe).size / 1e6).toFixed(1)} MB, node ${process.version})\n`);
