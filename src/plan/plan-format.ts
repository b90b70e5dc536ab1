// Prints a plan for a terminal (text), a pull request comment (markdown) or a machine (json, schema/plan.schema.json).
import { worstClass, type Change } from './impact';
import { CHANGE_CLASSES, type ChangeClass } from './change-class';
import type { Plan, PlanSource } from './plan';

/** A side's source in words: `0123456789ab (dirty)`, `no commit`. */
function sourceText(s: PlanSource | undefined): string {
  if (!s) return '(none)';
  return `${s.commit ? s.commit.slice(0, 12) : 'no commit'}${s.dirty ? ' (dirty)' : ''}${s.signedWith ? `, signed with ${s.signedWith}` : ''}`;
}

/** The line saying where both sides of a gateway come from; empty when neither records a commit. */
export function sourceLine(g: Plan['gateways'][number]): string {
  const { before, after } = g.source ?? {};
  if (!before?.commit && !after?.commit && !before?.signedWith) return '';
  return `commit ${sourceText(before)} -> ${sourceText(after)}`;
}

const SIGN: Record<string, string> = { added: '+', removed: '-', changed: '~', replaced: '!', rekeyed: '~', reset: '!' };

export function changeLine(c: Change): string {
  const what = c.kind === 'tenant' ? 'tenant' : c.kind.replace(/-/g, ' ');
  return `${SIGN[c.action]} ${what} ${c.subject} ${c.action}${c.detail ? `: ${c.detail}` : ''} [${c.class}]`;
}

/** Counts by class, worst first: `1 disruptive, 2 hitless`; empty when there are no changes. */
export function classCounts(changes: Change[]): string {
  return [...CHANGE_CLASSES]
    .reverse()
    .map((k) => [k, changes.filter((c) => c.class === k).length] as const)
    .filter(([, n]) => n)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

/** The changes of `plan` at or above a class, for `--fail-on`: `gw1 contoso: connection IfCe1 replaced (replace)`. */
export function changesAtLeast(plan: Plan, threshold: ChangeClass): string[] {
  const min = CHANGE_CLASSES.indexOf(threshold);
  return plan.gateways.flatMap((g) => g.impact.tenants.flatMap((t) => t.changes.filter((c) => CHANGE_CLASSES.indexOf(c.class) >= min).map((c) => `${g.gateway} ${t.tenant}: ${c.kind.replace(/-/g, ' ')} ${c.subject} ${c.action} (${c.class}: ${c.reason}) at ${c.file}:${c.line}`)));
}

/** The gateway's rollout wave in words, when its file sets one. */
export function waveText(g: Plan['gateways'][number]): string {
  return g.rollout ? `rollout wave ${g.rollout.wave}${g.rollout.wave === 0 ? ' (canary)' : ''}` : '';
}

const CLASS_COLOR: Record<ChangeClass, number> = { hitless: 32, rekey: 36, replace: 33, disruptive: 31 };

function totalsLine(p: Plan['gateways'][number]): string {
  const t = p.impact.totals;
  const classes = classCounts(p.impact.tenants.flatMap((x) => x.changes));
  return `${classes ? `${classes}; ` : ''}${t.added} added, ${t.changed} changed, ${t.removed} removed, ${t.untouched} untouched; ${t.tunnelsDropped} tunnel${t.tunnelsDropped === 1 ? '' : 's'} dropped, ${t.sessionsReset} BGP session${t.sessionsReset === 1 ? '' : 's'} reset`;
}

/** A connection's effective proposals in one line: `IfCe1 proposals: ike aes256gcm16-prfsha384-ecp384; esp aes256gcm16-ecp384`. */
export function proposalLine(p: { connection: string; ike: string[]; esp: string[] }): string {
  return `${p.connection} proposals: ike ${p.ike.join(', ')}; esp ${p.esp.join(', ')}`;
}

export function planText(plan: Plan, color = false): string {
  const c = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out: string[] = [`s2sgw plan against ${plan.against}`, ''];
  for (const g of plan.gateways) {
    out.push(c(1, `gateway ${g.gateway}: ${g.status}${g.status === 'unchanged' ? '' : ` (${totalsLine(g)})`}`));
    if (g.rollout) out.push(`  ${waveText(g)}`);
    const src = sourceLine(g);
    if (src) out.push(c(2, `  ${src}`));
    if (g.impact.gatewayChanged) out.push('  ~ the gateway\'s own settings changed');
    for (const t of g.impact.tenants) {
      out.push(`  ${SIGN[t.status]} ${t.tenant} ${t.status} (${t.file})`);
      for (const ch of t.changes) {
        out.push(`      ${c(CLASS_COLOR[ch.class], changeLine(ch))}  ${c(2, `${ch.file}:${ch.line}`)}`);
        out.push(c(2, `          ${ch.class}: ${ch.reason}`));
      }
      for (const p of (g.proposals ?? []).filter((x) => x.tenant === t.tenant)) out.push(c(2, `      = ${proposalLine(p)}`));
    }
    for (const u of g.impact.untouched) out.push(c(2, `  = ${u.tenant} untouched (digest ${u.digest.slice(0, 12)} equal on both sides)`));
    for (const f of g.files) {
      out.push('');
      for (const l of f.patch.trimEnd().split('\n')) out.push(l.startsWith('+') && !l.startsWith('+++') ? c(32, l) : l.startsWith('-') && !l.startsWith('---') ? c(31, l) : l.startsWith('@@') ? c(36, l) : l);
    }
    out.push('');
  }
  if (plan.lock.changes.length || plan.lock.patch) {
    out.push(c(1, 'allocations.lock.yaml:'));
    for (const ch of plan.lock.changes) out.push(`  ${ch}`);
    if (plan.lock.patch) out.push(plan.lock.patch.trimEnd());
    out.push('');
  }
  out.push(plan.changed ? summary(plan) : 'No changes.');
  return out.join('\n') + '\n';
}

function summary(plan: Plan): string {
  const gws = plan.gateways.filter((g) => g.status !== 'unchanged');
  const tunnels = gws.reduce((n, g) => n + g.impact.totals.tunnelsDropped, 0);
  const sessions = gws.reduce((n, g) => n + g.impact.totals.sessionsReset, 0);
  const worst = worstClass(gws.flatMap((g) => g.impact.tenants.flatMap((t) => t.changes)));
  return `Changes on ${gws.length} gateway${gws.length === 1 ? '' : 's'}, worst class ${worst}: ${tunnels} tunnel${tunnels === 1 ? '' : 's'} dropped, ${sessions} BGP session${sessions === 1 ? '' : 's'} reset${tunnels || sessions ? ' (disruptive)' : ' (nothing disruptive)'}.`;
}

/** GitHub's limit for a comment body is 65,536 characters; stay under it with room for the note. */
export const MARKDOWN_LIMIT = 60000;

export function planMarkdown(plan: Plan, limit = MARKDOWN_LIMIT): string {
  const head: string[] = [`### s2sgw plan against \`${plan.against}\``, ''];
  if (!plan.changed) return [...head, 'No changes.', ''].join('\n');
  const waves = plan.gateways.some((g) => g.rollout);
  head.push(`| gateway |${waves ? ' wave |' : ''} class | added | changed | removed | untouched | tunnels dropped | BGP sessions reset |`, `|---|${waves ? '--:|' : ''}---|--:|--:|--:|--:|--:|--:|`);
  for (const g of plan.gateways) {
    const t = g.impact.totals;
    const cls = g.impact.tenants.length ? t.class : '-';
    const wave = waves ? ` ${g.rollout ? `${g.rollout.wave}${g.rollout.wave === 0 ? ' (canary)' : ''}` : '-'} |` : '';
    head.push(`| ${g.gateway}${g.status === 'added' || g.status === 'removed' ? ` (${g.status})` : ''} |${wave} ${cls === 'disruptive' ? '**disruptive**' : cls} | ${t.added} | ${t.changed} | ${t.removed} | ${t.untouched} | ${t.tunnelsDropped ? `**${t.tunnelsDropped}**` : 0} | ${t.sessionsReset ? `**${t.sessionsReset}**` : 0} |`);
  }
  head.push('', summary(plan).replace('(disruptive)', '— **disruptive**'), '');
  const body: string[] = [];
  for (const g of plan.gateways) {
    if (g.status === 'unchanged') continue;
    body.push(`#### ${g.gateway}`, '');
    if (sourceLine(g)) body.push(sourceLine(g).replace(/^commit /, 'Commit: '), '');
    if (g.rollout) body.push(`Reaches this gateway in ${waveText(g)}.`, '');
    if (g.impact.tenants.length) {
      body.push('| tenant | status | changes | class | disruptive |', '|---|---|--:|---|---|');
      for (const t of g.impact.tenants) body.push(`| ${t.tenant} | ${t.status} | ${t.changes.length} | ${worstClass(t.changes)} | ${t.changes.some((c) => c.disruptive) ? ':warning: yes' : 'no'} |`);
      body.push('');
    }
    for (const t of g.impact.tenants) {
      body.push(`<details><summary><b>${t.tenant}</b> ${t.status}: ${t.changes.length} change${t.changes.length === 1 ? '' : 's'}</summary>`, '');
      for (const c of t.changes) body.push(`- ${c.disruptive ? ':warning: ' : ''}\`${SIGN[c.action]}\` ${c.kind.replace(/-/g, ' ')} \`${c.subject}\` ${c.action}${c.detail ? `: ${escapeMd(c.detail)}` : ''} (\`${c.file}:${c.line}\`) — **${c.class}**: ${escapeMd(c.reason)}`);
      for (const p of (g.proposals ?? []).filter((x) => x.tenant === t.tenant)) body.push(`- \`${p.connection}\` proposals: IKE \`${p.ike.join(', ')}\`, ESP \`${p.esp.join(', ')}\``);
      body.push('', '</details>', '');
    }
    if (g.impact.untouched.length) body.push(`Untouched (per-tenant digests equal): ${g.impact.untouched.map((u) => u.tenant).join(', ')}`, '');
    if (g.files.length) {
      body.push(`<details><summary>Diff of ${g.gateway}: ${g.files.length} file${g.files.length === 1 ? '' : 's'}</summary>`, '', '```diff', ...g.files.map((f) => f.patch.trimEnd()), '```', '', '</details>', '');
    }
  }
  if (plan.lock.patch) body.push('<details><summary>allocations.lock.yaml</summary>', '', '```diff', plan.lock.patch.trimEnd(), '```', '', '</details>', '');
  let text = [...head, ...body].join('\n');
  if (text.length > limit) {
    const note = `\n\n_The plan was cut at ${limit} characters to fit a GitHub comment (${text.length} in all); run \`s2sgw plan --format text\` for the whole of it._\n`;
    let cut = text.slice(0, limit);
    // Close an open code block and details so the comment still renders.
    if ((cut.match(/```/g) ?? []).length % 2) cut += '\n```';
    const open = (cut.match(/<details>/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
    cut += '\n\n</details>'.repeat(Math.max(0, open));
    text = cut + note;
  }
  return text.endsWith('\n') ? text : text + '\n';
}

function escapeMd(s: string): string {
  return s.replace(/([|<])/g, '\\$1');
}

export function planJson(plan: Plan): string {
  return JSON.stringify({ version: 1, ...plan }, null, 2) + '\n';
}
