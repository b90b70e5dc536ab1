// What apply needs of the strongSwan target on the host, without the renderer (which loads the model, YAML and the templates).

/** The gateway identity's private key: a path on the host, which apply links into swanctl's private/ folder. */
export const PRIVATE_REFS_PATH = 'swanctl/private.refs';

/** Reads swanctl/private.refs: `key PATH link NAME`. */
export function parsePrivateRefs(text: string): { key: string; link: string } | undefined {
  const m = /^key (\S+) link (\S+)$/m.exec(text);
  return m ? { key: m[1], link: m[2] } : undefined;
}

/** Connection names in `swanctl --list-conns` output, sorted. */
export function loadedConnections(listOutput: string): string[] {
  return [...listOutput.matchAll(/^([^\s:]+): IKEv[12]/gm)].map((m) => m[1]).sort();
}
