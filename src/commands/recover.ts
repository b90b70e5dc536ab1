// `s2sgw recover`: at boot (s2sgw-recover.service, before strongSwan and FRR), finish or undo what a crash left, and undo an unconfirmed release.
import { Command } from './common';
import { recoverHost } from '../apply/engine';
import { HOST_OPTIONS, finish, lockWaitMs, runnerFrom } from '../apply/options';

export const command: Command = {
  name: 'recover',
  summary: 'at boot: finish or roll back an interrupted apply, roll back a release never confirmed',
  options: { reload: { type: 'boolean', description: 'reload strongSwan and FRR afterwards (when they already run)' }, ...HOST_OPTIONS },
  async run({ values }, io) {
    const out = await recoverHost(runnerFrom(values, io), { say: (s) => io.err(s + '\n'), lockWaitMs: lockWaitMs(values), reload: !!values.reload });
    return finish(out, io, 'recover');
  },
};
