#!/usr/bin/env node
// Writes the man page (s2sgw.1) and the bash completion (s2sgw.bash) from the commands' own tables in the
// compiled CLI (dist/src/cli.js): whatever commands exist at build time, with their usage, summary and options,
// so neither can drift from --help.
// Usage: node scripts/package-docs.js OUTDIR
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.resolve(process.argv[2] || path.join(root, 'dist', 'pkg', 'build'));
const { commands, help } = require(path.join(root, 'dist', 'src', 'cli.js'));
const { completionBash } = require(path.join(root, 'dist', 'src', 'commands', 'help.js'));
const { usageOf } = require(path.join(root, 'dist', 'src', 'commands', 'common.js'));
const { COMMON_OPTIONS } = require(path.join(root, 'dist', 'src', 'util', 'options.js'));
const { VERSION } = require(path.join(root, 'dist', 'src', 'util', 'version.js'));
const cmds = commands();
// Every command also takes these (src/util/options.ts).
const COMMON = COMMON_OPTIONS;

// ---- man page -------------------------------------------------------------------------------------------
/** Text for roff: backslashes and hyphens escaped, no line starting with a control character. */
const roff = (s) => s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
const summaryLine = help().split('\n')[0].replace(/^s2sgw [^:]*: /, '');
const exitLine = help().split('\n').find((l) => l.startsWith('Exit codes:'));

const man = [
  `.TH S2SGW 1 "" "s2sgw ${VERSION}" "User Commands"`,
  '.SH NAME',
  `s2sgw \\- ${roff(summaryLine)}`,
  '.SH SYNOPSIS',
  '.B s2sgw',
  '.I command',
  '.RI [ options ]',
  '.br',
  '.B s2sgw',
  '.BR \\-\\-help " | " \\-\\-version',
  '.SH DESCRIPTION',
  roff('s2sgw compiles a Git repository of tenants\' YAML files into a configuration bundle per gateway host (validate, build, plan: in CI) and puts a bundle on a gateway host atomically (apply, confirm, rollback, status: on the host). Diagnostics name every file:line:col involved.'),
  '.SH COMMANDS',
  ...cmds.flatMap((c) => {
    const opts = Object.entries({ ...c.options, ...COMMON });
    return [
      '.TP',
      `.B ${roff(c.name)}`,
      roff(c.summary.charAt(0).toUpperCase() + c.summary.slice(1)) + '.',
      '.RS',
      '.PP',
      `Usage: ${roff(usageOf(c))}`,
      '.PP',
      'Options:',
      ...opts.flatMap(([name, o]) => {
        const v = o.type === 'string' ? o.value || 'VALUE' : undefined;
        const flag = `${o.short ? `\\-${o.short}, ` : ''}\\-\\-${roff(name)}${v ? ` \\fI${roff(v)}\\fR` : ''}`;
        const notes = [o.description, o.multiple ? 'may be given more than once' : '', o.default !== undefined ? `default ${o.default}` : ''].filter(Boolean);
        return ['.TP', `.B ${flag}`, ...(notes.length ? [roff(notes.join('; '))] : [])];
      }),
      '.RE',
    ];
  }),
  '.SH EXIT STATUS',
  roff(exitLine || ''),
  '.SH ENVIRONMENT',
  '.TP', '.B NO_COLOR', 'No colour in text diagnostics (colour is only used on a terminal).',
  '.TP', '.B S2SGW_VICI', roff('strongSwan\'s VICI socket for host commands when --vici is not given (default unix:///var/run/charon.vici).'),
  '.TP', '.I NAME', roff('A secret written env:NAME in a tenant file is read from the environment of apply.'),
  '.SH FILES',
  '.TP', '.I /etc/s2sgw/secrets/', roff('Secrets referenced as file:PATH (mode 0700, files 0600).'),
  '.TP', '.I /var/lib/s2sgw/', roff('Releases, the current release, the journal and the pending confirm.'),
  '.TP', '.I /var/log/s2sgw/', roff('Every command apply ran (commands.log) and the confirm timer\'s log; rotated by logrotate.'),
  '.TP', '.I /usr/share/s2sgw/schema/', roff('The JSON schemas of gateway and tenant files, for editors.'),
  '.TP', '.I /lib/systemd/system/s2sgw\\-*.service', roff('s2sgw-recover (at boot), s2sgw-confirm (the apply --confirm timer under systemd), s2sgw-metrics (with its .timer).'),
  '.SH SEE ALSO',
  '.BR swanctl (8),',
  '.BR vtysh (1),',
  '.BR nft (8),',
  '.BR ip (8),',
  '.BR tc (8)',
  '',
].join('\n');

// ---- bash completion: the same as `s2sgw completion bash` ----------------------------------------------
const bash = completionBash(cmds);

fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 's2sgw.1'), man);
fs.writeFileSync(path.join(out, 's2sgw.bash'), bash);
