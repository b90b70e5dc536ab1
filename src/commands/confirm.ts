// `s2sgw confirm`: keep the release `apply --confirm SECONDS` put on probation (like `netplan try`).
import { Command } from './common';
import { confirm } from '../apply/engine';
import { HOST_OPTIONS, HOST_USAGE, finish, lockWaitMs, runnerFrom } from '../apply/options';

export const command: Command = {
  name: 'confirm',
  summary: 'keep the release applied with --confirm before its timer rolls it back',
  usage: `s2sgw confirm ${HOST_USAGE}`,
  options: { ...HOST_OPTIONS },
  async run({ values }, io) {
    const out = await confirm(runnerFrom(values, io), { say: (s) => io.err(s + '\n'), lockWaitMs: lockWaitMs(values) });
    return finish(out, io, 'confirm');
  },
};
