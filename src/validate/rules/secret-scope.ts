// A tenant names only its own secrets: its files below the gateway's secrets folder, its own environment variables
// (src/model/secret-scope.ts has the scopes); a gateway's secrets folder is a plain path apart from its key files.
import { Diagnostic, error } from '../../model/diagnostics';
import { envPrefix, scopeIndex, scopeRef, secretsDirProblem, shownRef } from '../../model/secret-scope';
import { isSecretRef } from './inline-secret';
import { Rule, byGateway, conn, gatewaysByName, related } from './rule';

export const rule: Rule = {
  id: 'secret-scope',
  summary: "a secret reference outside its tenant's scope (another tenant's variable or file, a path outside the secrets folder, the gateway's key)",
  check(ctx) {
    const out: Diagnostic[] = [];
    const gws = gatewaysByName(ctx.model);
    for (const gw of gws.values()) {
      const dirProblem = secretsDirProblem(gw.secretsDir);
      const dirAt = () => ctx.at(gw.origin, 'secretsDir');
      if (dirProblem) out.push(error(this.id, dirAt(), `secretsDir of gateway ${gw.name} cannot be a secrets folder: ${dirProblem}`, { hint: 'write a plain absolute path such as /etc/s2sgw/secrets' }));
      const id = gw.identity;
      if (id) {
        for (const [key, p] of [['privateKey', id.privateKey], ['certificate', id.certificate]] as const) {
          if (p === gw.secretsDir || p.startsWith(gw.secretsDir + '/'))
            out.push(error(this.id, ctx.at(gw.origin, 'identity', key), `identity.${key} of gateway ${gw.name} is inside the tenants' secrets folder ${gw.secretsDir}`, { hint: "keep the gateway's own key and certificate outside secretsDir (for example in /etc/s2sgw/pki), where no tenant reference can reach them" }));
        }
      }
    }
    // One finding per reference, though a tenant is on several gateways: the first gateway's (in name order) is reported.
    const seen = new Set<string>();
    for (const [gwName, tenants] of [...byGateway(ctx.model)].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const gw = gws.get(gwName)!;
      if (secretsDirProblem(gw.secretsDir)) continue;
      const names = scopeIndex(tenants.map((t) => t.name));
      for (const t of tenants) {
        for (const c of t.connections) {
          const a = c.auth;
          // A reference that is not even one is inline-secret's finding.
          if (a.kind === 'certificate' || !isSecretRef(a.ref)) continue;
          const key = `${t.file}\0${c.interface}`;
          if (seen.has(key)) continue;
          const field = a.kind === 'psk' ? 'psk' : 'eap.secret';
          const at = () => ctx.at(c.origin, 'auth', ...(a.kind === 'psk' ? ['psk'] : ['eap', 'secret']));
          const s = scopeRef(a.ref, t.name, names, gw.secretsDir);
          if (!s.ok) {
            seen.add(key);
            const owner = s.owner ? tenants.find((o) => o.name === s.owner) : undefined;
            out.push(
              error(this.id, at(), `\`${field}\` of ${conn(t, c)} names ${shownRef(a.ref)}, outside tenant ${t.name}'s secrets on gateway ${gw.name}: ${s.problem}`, {
                hint: `a tenant reaches only its own secrets: env:${envPrefix(t.name)}NAME, or file:${gw.secretsDir}/${t.name}/NAME (docs/security.md)`,
                related: owner ? [related(ctx.at(owner.origin, 'tenant'), `tenant ${owner.name} is on gateway ${gw.name} here`)] : [],
              }),
            );
          } else if (s.kind === 'file' && gw.identity && [gw.identity.privateKey, gw.identity.certificate].includes(s.path)) {
            seen.add(key);
            out.push(error(this.id, at(), `\`${field}\` of ${conn(t, c)} names ${s.path}, the key file of gateway ${gw.name}`, { related: [related(ctx.at(gw.origin, 'identity'), `gateway ${gw.name}'s identity is declared here`)] }));
          }
        }
      }
    }
    return out;
  },
};
