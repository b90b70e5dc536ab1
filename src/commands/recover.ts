// `s2sgw recover`: at boot (s2sgw-recover.service, before strongSwan and FRR), finish or undo what a crash left, and undo an unconfirmed release.
import { Command } from './common';
import { recoverHost } from '../apply/engine';
import { HOST_OPTIONS, HOST_USAGE, finish, lockWaitMs, runnerFrom } from '../apply/options';

export const command: Command = {
  name: 'recover',
  summary: 'at boot: finish or roll back an interrupted apply, roll back a release never confirmed',
  usage: `s2sgw recover [--reload] ${HOST_USAGE}`,
  options: { reload: { type: 'boolean' }, ...HOST_OPTIONS },
  async run({ values }, io) {
    const out = await recoverHost(runnerFrom(values, io), { say: (s) => io.err(s + '\n'), lockWaitMs: lockWaitMs(values), reload: !!values.reload });
    return finish(out, io, 'recover');
  },
};
