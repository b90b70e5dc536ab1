// `s2sgw rollback`: return this gateway host to the release before the current one, with the same ordered reload as apply.
import { Command } from './common';
import { rollback } from '../apply/engine';
import { HOST_OPTIONS, HOST_USAGE, finish, lockWaitMs, runnerFrom } from '../apply/options';

export const command: Command = {
  name: 'rollback',
  summary: 'switch this gateway host back to the previous release',
  usage: `s2sgw rollback ${HOST_USAGE}`,
  options: { ...HOST_OPTIONS },
  async run({ values }, io) {
    const out = await rollback(runnerFrom(values, io), { say: (s) => io.err(s + '\n'), lockWaitMs: lockWaitMs(values) });
    return finish(out, io, 'rollback');
  },
};
