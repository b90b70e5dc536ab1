// The strongswan target: swanctl connections per tenant, the secrets refs, the updown hook and charon's snippet; checked by a real charon.
import type { RenderedFile, Section, Target, TargetInput } from '../target';
import { header, template } from '../target';
import { CHARON_SNIPPET_PATH, PRIVATE_REFS_PATH, SECRETS_REFS_PATH, UPDOWN_HOST_PATH, UPDOWN_PATH, confPath, privateKeyLink, privateKeyPath, toView } from './view';
import { check } from './check';
import { secretsDirLine } from './secrets';

export { secretsConf, parseRefs } from './secrets';
export { UPDOWN_HOST_PATH, CHARON_SNIPPET_PATH, SECRETS_REFS_PATH, PRIVATE_REFS_PATH, parsePrivateRefs } from './view';
export { mainConf } from './check';

const T = 'strongswan';

/** Renders the strongSwan files of one gateway. Pure: same input, same bytes. */
export function render(input: TargetInput): RenderedFile[] {
  const { gateway: gw, tenants, alloc } = input;
  const view = toView(gw, tenants, alloc);
  // Shared files name each tenant's file in its own section, so adding a tenant changes no gateway line.
  const gwFrom = [view.gatewayFile, 'the tenant files named below'];
  const files: RenderedFile[] = [];

  // One whole file per tenant: adding or changing a tenant touches only its own file.
  for (const tv of view.tenants) {
    const t = tv.tenant;
    const sections: Section[] = [{ tenant: t.name, text: header('#', [tv.file, view.gatewayFile]) + 'connections {\n', origin: t.origin }];
    for (const cv of tv.connections) sections.push({ tenant: t.name, text: template(T, 'connection')(cv), origin: cv.connection.origin });
    sections.push({ tenant: t.name, text: '}\n', origin: t.origin });
    files.push({ path: confPath(t.name), sections });
  }

  const refs: Section[] = [{ text: header('#', gwFrom) + template(T, 'refs-head')({ dirLine: secretsDirLine(gw.secretsDir) }) }];
  for (const tv of view.tenants) if (tv.refs.length) refs.push({ tenant: tv.tenant.name, text: template(T, 'refs-tenant')({ name: tv.tenant.name, file: tv.file, lines: tv.refs }), origin: tv.tenant.origin });
  files.push({ path: SECRETS_REFS_PATH, sections: refs });

  const updown: Section[] = [{ text: '#!/bin/sh\n' + header('#', gwFrom) + template(T, 'updown-head')({ hostPath: UPDOWN_HOST_PATH }) }];
  for (const tv of view.tenants) if (tv.updown) updown.push({ tenant: tv.tenant.name, text: template(T, 'updown-tenant')(tv.updown), origin: tv.tenant.origin });
  updown.push({ text: template(T, 'updown-tail')({}) });
  files.push({ path: UPDOWN_PATH, sections: updown, mode: 0o755 });

  files.push({ path: CHARON_SNIPPET_PATH, sections: [{ text: header('#', [view.gatewayFile]) + template(T, 'strongswan')({}) }] });
  // swanctl loads private keys only from its own private/ folder: apply links the identity's key there
  // (only when a certificate or EAP connection needs it, so a PSK-only gateway needs no key on the host).
  const needsKey = tenants.some((t) => t.connections.some((c) => c.auth.kind !== 'psk'));
  if (gw.identity && needsKey) files.push({ path: PRIVATE_REFS_PATH, sections: [{ text: header('#', [view.gatewayFile]) + template(T, 'private-refs')({ key: privateKeyPath(gw.identity.privateKey), link: privateKeyLink(gw.name) }) }] });
  return files;
}

export const target: Target = {
  name: T,
  render,
  check,
  // private-refs is rendered only when some tenant authenticates with the gateway's identity.
  gatewayFacts: (t) => (t.connections.some((c) => c.auth.kind !== 'psk') ? 'identity' : ''),
};
