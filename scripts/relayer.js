#!/usr/bin/env node
// One-off codemod for the layered tree (issue 19): moves modules out of src/compiler and the top of src/ into
// folders that read as the pipeline (util, model, validate, targets, bundle, plan, apply, commands), rewrites
// every relative import and require, and every path mentioned in docs, tests, scripts and comments.
// Usage: node scripts/relayer.js [NAME.ts=FOLDER ...]   (extra moves for files src/compiler gained since)
// Kept in the tree as the record of what moved where; running it again finds nothing to move.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'src');

/** Old path under src/ -> new folder under src/ (the file keeps its name). */
const MOVES = {
  'version.ts': 'util',
  'env.ts': 'util',
  'heap.ts': 'util',
  'usage.ts': 'util',
  'embedded.ts': 'util',
  'targets/exec.ts': 'util',
  'compiler/cache.ts': 'util',
  'compiler/diagnostics.ts': 'model',
  'compiler/source.ts': 'model',
  'compiler/load.ts': 'model',
  'compiler/git.ts': 'model',
  'compiler/lock.ts': 'model',
  'compiler/model.ts': 'model',
  'compiler/secret-scope.ts': 'model',
  'compiler/selectors.ts': 'model',
  'compiler/summary.ts': 'model',
  'compiler/format.ts': 'model',
  'validate/formats.ts': 'model',
  'validate/algorithms.ts': 'model',
  'compiler/lock-check.ts': 'validate',
  'compiler/compile.ts': 'bundle',
  'compiler/bundle.ts': 'bundle',
  'compiler/check.ts': 'bundle',
  'compiler/manifest.ts': 'bundle',
  'compiler/write.ts': 'bundle',
  'compiler/plan.ts': 'plan',
  'compiler/impact.ts': 'plan',
  'compiler/plan-format.ts': 'plan',
  'compiler/change-class.ts': 'plan',
  // The option table's machinery (types, parser, shared options) serves apply/ too.
  'commands/options.ts': 'util',
};
for (const arg of process.argv.slice(2)) {
  const m = /^([\w.-]+\.ts)=([\w-]+)$/.exec(arg);
  if (!m) throw new Error(`bad argument ${arg}: NAME.ts=FOLDER`);
  MOVES[`compiler/${m[1]}`] = m[2];
}

const moves = new Map(); // absolute old -> absolute new
for (const [from, folder] of Object.entries(MOVES)) {
  const abs = path.join(src, from);
  if (!fs.existsSync(abs)) continue;
  moves.set(abs, path.join(src, folder, path.basename(from)));
}
const left = fs.existsSync(path.join(src, 'compiler'))
  ? fs.readdirSync(path.join(src, 'compiler')).filter((f) => !moves.has(path.join(src, 'compiler', f)))
  : [];
if (left.length) {
  console.error(`src/compiler would keep ${left.join(', ')}: name a folder for each (NAME.ts=FOLDER)`);
  process.exit(2);
}

function walk(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.') || e.name === 'fixtures') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const where = (abs) => moves.get(abs) ?? abs;

/** The module a relative specifier names, as a .ts path when one exists (else the path itself). */
function resolveSpec(fromDir, spec) {
  const base = path.resolve(fromDir, spec);
  const noJs = base.replace(/\.js$/, '');
  for (const c of [`${noJs}.ts`, path.join(noJs, 'index.ts')]) if (fs.existsSync(c) || moves.has(c)) return { file: c, kind: c.endsWith('index.ts') && !noJs.endsWith('index') ? 'dir' : 'file' };
  return { file: base, kind: 'raw' };
}

function respec(fromNewDir, target, kind, spec) {
  let rel;
  if (kind === 'dir') rel = path.relative(fromNewDir, path.dirname(where(target)));
  else if (kind === 'file') {
    rel = path.relative(fromNewDir, where(target)).replace(/\.ts$/, '');
    if (spec.endsWith('.js')) rel += '.js';
  } else rel = path.relative(fromNewDir, target);
  rel = rel.split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return rel;
}

const codeFiles = [...walk(src), ...walk(path.join(root, 'test')), ...walk(path.join(root, 'bench'))].filter((f) => /\.ts$/.test(f));
const warnings = [];
for (const file of codeFiles) {
  const oldDir = path.dirname(file);
  const newDir = path.dirname(where(file));
  let text = fs.readFileSync(file, 'utf8');
  const out = text.replace(/((?:from\s+|import\s*\(\s*|require\(\s*|import\s+)['"])(\.{1,2}\/[^'"]*)(['"])/g, (all, pre, spec, post) => {
    const { file: target, kind } = resolveSpec(oldDir, spec);
    if (kind === 'raw' && oldDir === newDir) return all;
    return `${pre}${respec(newDir, target, kind, spec)}${post}`;
  });
  if (oldDir !== newDir && /__dirname/.test(out) && oldDir.split(path.sep).length !== newDir.split(path.sep).length) {
    warnings.push(`${path.relative(root, file)} uses __dirname and changes depth: check it by hand`);
  }
  if (out !== text) fs.writeFileSync(file, out);
}

// Mentions of moved paths in prose and scripts: src/compiler/model.ts, dist/src/embedded.js, compiler/lock ...
const mentions = [];
for (const [oldAbs, newAbs] of moves) {
  const o = path.relative(src, oldAbs).replace(/\.ts$/, '');
  const n = path.relative(src, newAbs).replace(/\.ts$/, '');
  mentions.push([o, n]);
}
mentions.sort((a, b) => b[0].length - a[0].length);
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const proseFiles = [
  ...walk(path.join(root, 'docs')),
  ...walk(path.join(root, 'scripts')),
  ...walk(path.join(root, 'lab')),
  ...walk(path.join(root, 'packaging')),
  ...walk(path.join(root, 'ansible')),
  ...codeFiles,
  path.join(root, 'README.md'),
].filter((f) => fs.existsSync(f) && /\.(md|ts|js|sh|ya?ml|json|txt)$/.test(f) && !f.endsWith('relayer.js'));
for (const file of proseFiles) {
  const text = fs.readFileSync(file, 'utf8');
  let out = text;
  for (const [o, n] of mentions) {
    // With a src/ prefix anywhere; without it only where a path is plainly meant (a / before is not allowed, so
    // src/apply/lock.ts is not mistaken for compiler/lock).
    out = out.replace(new RegExp(`(src/)${esc(o)}(?=\\.(?:ts|js)\\b|[^\\w/-]|$)`, 'gm'), `$1${n}`);
    // path.join(root, 'dist', 'src', 'version.js') and the like.
    const segs = (p) => p.split('/').map((x) => `'${x}'`).join(', ');
    for (const ext of ['.js', '.ts']) out = out.split(`'src', ${segs(o + ext)}`).join(`'src', ${segs(n + ext)}`);
    if (o.includes('/')) out = out.replace(new RegExp(`(?<![\\w/.-])${esc(o)}(?=\\.(?:ts|js)\\b|[^\\w/-]|$)`, 'gm'), n);
  }
  if (out !== text) fs.writeFileSync(file, out);
}

for (const [oldAbs, newAbs] of [...moves].sort()) {
  fs.mkdirSync(path.dirname(newAbs), { recursive: true });
  execFileSync('git', ['mv', path.relative(root, oldAbs), path.relative(root, newAbs)], { cwd: root });
  console.log(`${path.relative(root, oldAbs)} -> ${path.relative(root, newAbs)}`);
}
if (fs.existsSync(path.join(src, 'compiler')) && !fs.readdirSync(path.join(src, 'compiler')).length) fs.rmdirSync(path.join(src, 'compiler'));
for (const w of warnings) console.error(`warning: ${w}`);
