// The strongswan target: swanctl connections per tenant, the secrets refs, the updown hook and charon's snippet; checked by a real charon.
import type { RenderedFile, Section, Target, TargetInput } from '../target';
import { header, template } from '../target';
import { CHARON_SNIPPET_PATH, PRIVATE_REFS_PATH, SECRETS_REFS_PATH, UPDOWN_HOST_PATH, UPDOWN_PATH, byName, confPath, privateKeyLink, privateKeyPath, tenantView } from './view';
import type { TenantView } from './view';
import { check } from './check';
import { secretsDirLine } from './secrets';

export { secretsConf, parseRefs } from './secrets';
export { UPDOWN_HOST_PATH, CHARON_SNIPPET_PATH, SECRETS_REFS_PATH, PRIVATE_REFS_PATH, parsePrivateRefs } from './view';
export { mainConf } from './check';

const T = 'strongswan';

/** Renders the strongSwan files of one gateway. Pure: same input, same bytes. */
export function render(input: TargetInput): RenderedFile[] {
  return [...renderEach(input)];
}

/**
 * render()'s files one at a time: each tenant's file is made (its view with it) when the caller asks for the next,
 * so a caller that keeps no file holds one tenant's view and texts at a time (10,000 tenants' were 35 MB of live heap).
 */
export function* renderEach(input: TargetInput): Generator<RenderedFile> {
  const { gateway: gw, tenants, alloc } = input;
  const gatewayFile = gw.origin.file;
  // Shared files name each tenant's file in its own section, so adding a tenant changes no gateway line.
  const gwFrom = [gatewayFile, 'the tenant files named below'];
  // What the shared files need of each tenant's view (its connections' views go with its own file).
  const kept: Array<Pick<TenantView, 'tenant' | 'file' | 'refs' | 'updown'>> = [];

  // One whole file per tenant: adding or changing a tenant touches only its own file.
  for (const t of byName(tenants)) {
    const tv = tenantView(t, gw, alloc);
    const sections: Section[] = [{ tenant: t.name, text: header('#', [tv.file, gatewayFile]) + 'connections {\n', origin: t.origin }];
    for (const cv of tv.connections) sections.push({ tenant: t.name, text: template(T, 'connection')(cv), origin: cv.connection.origin });
    sections.push({ tenant: t.name, text: '}\n', origin: t.origin });
    kept.push({ tenant: t, file: tv.file, refs: tv.refs, updown: tv.updown });
    yield { path: confPath(t.name), sections };
  }

  const refs: Section[] = [{ text: header('#', gwFrom) + template(T, 'refs-head')({ dirLine: secretsDirLine(gw.secretsDir) }) }];
  for (const tv of kept) if (tv.refs.length) refs.push({ tenant: tv.tenant.name, text: template(T, 'refs-tenant')({ name: tv.tenant.name, file: tv.file, lines: tv.refs }), origin: tv.tenant.origin });
  yield { path: SECRETS_REFS_PATH, sections: refs };

  const updown: Section[] = [{ text: '#!/bin/sh\n' + header('#', gwFrom) + template(T, 'updown-head')({ hostPath: UPDOWN_HOST_PATH }) }];
  for (const tv of kept) if (tv.updown) updown.push({ tenant: tv.tenant.name, text: template(T, 'updown-tenant')(tv.updown), origin: tv.tenant.origin });
  updown.push({ text: template(T, 'updown-tail')({}) });
  yield { path: UPDOWN_PATH, sections: updown, mode: 0o755 };

  yield { path: CHARON_SNIPPET_PATH, sections: [{ text: header('#', [gatewayFile]) + template(T, 'strongswan')({}) }] };
  // swanctl loads private keys only from its own private/ folder: apply links the identity's key there
  // (only when a certificate or EAP connection needs it, so a PSK-only gateway needs no key on the host).
  const needsKey = tenants.some((t) => t.connections.some((c) => c.auth.kind !== 'psk'));
  if (gw.identity && needsKey) yield { path: PRIVATE_REFS_PATH, sections: [{ text: header('#', [gatewayFile]) + template(T, 'private-refs')({ key: privateKeyPath(gw.identity.privateKey), link: privateKeyLink(gw.name) }) }] };
}

export const target: Target = {
  name: T,
  render,
  renderEach,
  check,
  // private-refs is rendered only when some tenant authenticates with the gateway's identity.
  gatewayFacts: (t) => (t.connections.some((c) => c.auth.kind !== 'psk') ? 'identity' : ''),
};
