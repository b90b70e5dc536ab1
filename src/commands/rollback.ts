// `s2sgw rollback [--to RELEASE]`: return this gateway host to the release before the current one in its history (or any kept
// release), with the same ordered reload as apply.
import { Command, formatOption } from './common';
import { UsageError } from '../util/usage';
import { rollback } from '../apply/engine';
import { HOST_OPTIONS, OUTCOME_FORMAT, OUTCOME_JSON, finish, finishJson, lockWaitMs, runnerFrom, sayer } from '../apply/options';
import { auditCommand, AUDIT_OPTIONS, whoRuns } from '../apply/audit';

export const command: Command = {
  name: 'rollback',
  summary: 'switch this gateway host back to the release before the current one, or to any kept release (--to)',
  options: { to: { type: 'string', value: 'RELEASE', description: 'the release to go to, as `s2sgw releases` prints it (default: the one before the current)' }, ...OUTCOME_FORMAT, ...AUDIT_OPTIONS, ...HOST_OPTIONS },
  json: OUTCOME_JSON,
  async run({ values }, io) {
    const json = formatOption(values, ['text', 'json']) === 'json';
    const messages: string[] = [];
    const to = values.to as string | undefined;
    if (to !== undefined && !/^[0-9a-f]{6,64}(\.\d+)?$/.test(to)) throw new UsageError(`--to takes a release id as \`s2sgw releases\` prints it, got ${to}`);
    const runner = runnerFrom(values, io);
    const out = await auditCommand('rollback', runner, whoRuns(io.env, values.actor as string | undefined), () => rollback(runner, { say: sayer(io, json, messages), lockWaitMs: lockWaitMs(values), ...(to !== undefined ? { to } : {}) }), (s) => io.err(`s2sgw rollback: ${s}\n`));
    return json ? finishJson(out, io, 'rollback', messages) : finish(out, io, 'rollback');
  },
};
