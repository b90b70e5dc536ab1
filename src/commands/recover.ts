// `s2sgw recover`: at boot (s2sgw-recover.service, before strongSwan and FRR), finish or undo what a crash left, and undo an unconfirmed release.
import { Command, formatOption } from './common';
import { recoverHost } from '../apply/engine';
import { HOST_OPTIONS, OUTCOME_FORMAT, OUTCOME_JSON, finish, finishJson, lockWaitMs, runnerFrom, sayer } from '../apply/options';

export const command: Command = {
  name: 'recover',
  summary: 'at boot: finish or roll back an interrupted apply, roll back a release never confirmed',
  options: { reload: { type: 'boolean', description: 'reload strongSwan and FRR afterwards (when they already run)' }, ...OUTCOME_FORMAT, ...HOST_OPTIONS },
  json: OUTCOME_JSON,
  async run({ values }, io) {
    const json = formatOption(values, ['text', 'json']) === 'json';
    const messages: string[] = [];
    const out = await recoverHost(runnerFrom(values, io), { say: sayer(io, json, messages), lockWaitMs: lockWaitMs(values), reload: !!values.reload });
    return json ? finishJson(out, io, 'recover', messages) : finish(out, io, 'recover');
  },
};
