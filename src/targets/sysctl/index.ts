// The sysctl target: sysctl/90-s2sgw.conf (forwarding and what VRFs, XFRM interfaces and BGP sockets need) and the kernel modules to load at boot.
import type { RenderedFile, Target, TargetInput } from '../target';
import { header, template } from '../target';
import { toView } from './view';
import { checkSysctl } from './check';

export const SYSCTL_CONF = 'sysctl/90-s2sgw.conf';
/** /etc/modules-load.d/s2sgw.conf on the host. */
export const MODULES_CONF = 'modules-load.d/s2sgw.conf';

/** Both files are gateway-level: one section each, no tenant lines. Pure. */
export function render(input: TargetInput): RenderedFile[] {
  const v = toView(input.gateway);
  const origin = { file: input.gateway.origin.file, line: input.gateway.origin.line, col: input.gateway.origin.col };
  const h = header('#', [input.gateway.origin.file]);
  return [
    { path: SYSCTL_CONF, sections: [{ text: template('sysctl', 'sysctl')({ header: h, settings: v.settings }), origin }] },
    { path: MODULES_CONF, sections: [{ text: template('sysctl', 'modules')({ header: h, modules: v.modules }), origin }] },
  ];
}

export const target: Target = {
  name: 'sysctl',
  render,
  check: (input) => checkSysctl(input, SYSCTL_CONF, MODULES_CONF),
};
