// The s2sgw command line: picks a command, maps usage errors to exit 2 and internal errors to one line (stack with --debug).
import { UsageError } from './util/usage';
import { Command, EXIT, Io, parse, processIo } from './commands/common';
import { nearest } from './util/options';
import type * as Help from './commands/help';
import { LOADERS, commandNamed, commands } from './commands/registry';

export { commandNamed, commands };
import { VERSION } from './util/version';
import type * as Heap from './util/heap';

function unknownCommand(name: string, io: Io): number {
  const near = nearest(name, Object.keys(LOADERS));
  io.err(`s2sgw: unknown command \`${name}\`${near ? ` (did you mean \`${near}\`?)` : ''}\nhint: run \`s2sgw help\` for the list of commands\n`);
  return EXIT.usage;
}

export function help(): string {
  const COMMANDS = commands();
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `s2sgw ${VERSION}: compile tenants' YAML into multi-tenant site-to-site IPsec gateway bundles`,
    '',
    'usage: s2sgw <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `s2sgw help <command>` (or `s2sgw <command> --help`) for a command\'s options; docs/cli.md lists them all.',
    'A finding prints its code (`error duplicate-vlan: ...`): `s2sgw explain CODE` explains it, `s2sgw rules` lists them all.',
    'Exit codes: 0 ok, 1 findings or failure, 2 usage, 3 plan found changes (status: the host is degraded).',
    '',
  ].join('\n');
}

/** A command's help text (loaded when asked for: a command that runs does not load it). */
const commandHelp = (c: Command): string => (require('./commands/help') as typeof Help).commandHelp(c);

/** Commands on a gateway host: small live data, where a tight heap only means more collections (0.2 s of a one-tenant apply at 10,000 tenants). */
const HOST_COMMANDS = new Set(['apply', 'rollback', 'confirm', 'status', 'releases', 'recover', 'metrics']);

/**
 * The program: main() on the command line's arguments, its exit code the process's (bin/s2sgw.js, the single
 * executable). A host command's process ends as soon as main() returns and its output is written (exitFlushed), not
 * by node's natural exit, which first tears the heap down (an apply at 10,000 tenants ends holding manifests and file
 * bytes of hundreds of MB: tens of ms of every apply command, docs/apply.md). These commands await all they start;
 * what outlives them on purpose (the confirm timer, the trash's rm) runs detached.
 */
export function run(argv: string[]): Promise<void> {
  return main(argv).then((code) => {
    process.exitCode = code;
    if (HOST_COMMANDS.has(argv[0])) return exitFlushed(code);
  });
}

/**
 * process.exit(code) once stdout and stderr hold nothing unwritten: writes to a file or a terminal are synchronous,
 * but a pipe's are not once the reader falls 64 KB behind (`status --format json | less`), and process.exit would cut
 * them off. An empty write's callback runs after the writes queued before it.
 */
export async function exitFlushed(code: number): Promise<never> {
  const flushed = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => (s.writableLength ? s.write('', () => resolve()) : resolve()));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!HOST_COMMANDS.has(name)) (require('./util/heap') as typeof Heap).boundHeapGrowth();
  if (!name || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.out(help());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${VERSION}\n`);
    return EXIT.ok;
  }
  if (name === 'help') {
    const c = commandNamed(rest[0]);
    if (!c) return unknownCommand(rest[0], io);
    io.out(commandHelp(c));
    return EXIT.ok;
  }
  const cmd = commandNamed(name);
  if (!cmd) return unknownCommand(name, io);
  const debug = rest.includes('--debug');
  try {
    const args = parse(cmd, rest);
    if (args.values.help) {
      io.out(commandHelp(cmd));
      return EXIT.ok;
    }
    // --quiet, --verbose and --format json decide what is said besides the output itself.
    const quiet = !!args.values.quiet;
    const json = args.values.format === 'json';
    const cio: Io = { ...io, quiet, verbose: !!args.values.verbose && !quiet, progress: (!!io.progress || io.env.S2SGW_TTY === '1') && !quiet && !json };
    return await cmd.run(args, cio);
  } catch (e) {
    // A progress line left on a terminal (src/commands/common.ts: progressLine) is cleared before the message.
    if (io.progress) io.err('\r\x1b[K');
    if (e instanceof UsageError) {
      io.err(`s2sgw ${cmd.name}: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      return EXIT.usage;
    }
    const err = e as Error;
    io.err(`s2sgw ${cmd.name}: internal error: ${err.message}. This is a bug in s2sgw; please report it with the command you ran${debug ? '' : ' (add --debug for the stack)'}.\n`);
    if (debug) io.err(`${err.stack}\n`);
    return EXIT.findings;
  }
}
