// `s2sgw confirm`: keep the release `apply --confirm SECONDS` put on probation (like `netplan try`).
import { Command, formatOption } from './common';
import { confirm } from '../apply/engine';
import { HOST_OPTIONS, OUTCOME_FORMAT, OUTCOME_JSON, finish, finishJson, lockWaitMs, runnerFrom, sayer } from '../apply/options';
import { auditCommand, AUDIT_OPTIONS, whoRuns } from '../apply/audit';

export const command: Command = {
  name: 'confirm',
  summary: 'keep the release applied with --confirm before its timer rolls it back',
  options: { ...OUTCOME_FORMAT, ...AUDIT_OPTIONS, ...HOST_OPTIONS },
  json: OUTCOME_JSON,
  async run({ values }, io) {
    const json = formatOption(values, ['text', 'json']) === 'json';
    const messages: string[] = [];
    const runner = runnerFrom(values, io);
    const out = await auditCommand('confirm', runner, whoRuns(io.env, values.actor as string | undefined), () => confirm(runner, { say: sayer(io, json, messages), lockWaitMs: lockWaitMs(values) }), (s) => io.err(`s2sgw confirm: ${s}\n`));
    return json ? finishJson(out, io, 'confirm', messages) : finish(out, io, 'confirm');
  },
};
