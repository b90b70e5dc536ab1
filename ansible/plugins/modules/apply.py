#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 s2sgw contributors; MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: apply
short_description: Put an s2sgw bundle on a gateway host through C(s2sgw apply)
description:
  - Runs C(s2sgw apply) on the host with a bundle built by C(s2sgw build) (and signed by C(s2sgw sign)).
    s2sgw verifies the bundle (its gateway, its signature when the host trusts signers, every file's sha256)
    before anything changes, stages it as a release, checks it with the real tools, switches and reloads only
    what changed, and rolls back on any failure.
  - C(changed) is true only when the host's release changed.
  - With C(--diff), the diff names each tenant the bundle adds, changes or removes, with its connection file and
    summary before and after.
  - In check mode nothing on the host changes (C(s2sgw apply --dry-run)); the result says what would change,
    including drift, live state that differs from what the current release holds (a connection unloaded, a VRF or
    BGP session gone by hand).
  - A failure carries s2sgw's own message (the step and the tool's words) and whether the host was rolled back.
version_added: 1.0.0
author:
  - s2sgw maintainers
options:
  bundle:
    description:
      - The bundle on the host, a folder (C(out/<gateway>) of C(s2sgw build)) or a C(.tar.gz) of that folder
        (C(tar -C out -czf gw1.tar.gz gw1)), which the module unpacks into a temporary folder and removes afterwards.
      - An archive member that is not a plain file or folder inside it (a link, an absolute path, C(..)) is refused.
    type: path
    required: true
  gateway:
    description:
      - The gateway this host is. A bundle built for another gateway is refused before any change.
      - Without it, s2sgw takes C(/etc/s2sgw/gateway) or the name the host's first apply recorded.
    type: str
  confirm_timeout:
    description:
      - Seconds the new release waits for C(s2sgw confirm) (the M(s2sgw.gateway.confirm) module) before the host
        rolls itself back. Without it the release is final at once.
    type: int
  full:
    description: Reload whole files instead of the changed tenants' parts.
    type: bool
    default: false
  keep:
    description: Releases to keep on the host after the switch.
    type: int
extends_documentation_fragment:
  - s2sgw.gateway.host
notes:
  - Secrets referenced as C(env:NAME) are read from the environment the module runs in (the task's C(environment)).
  - Supports check mode and diff mode.
seealso:
  - module: s2sgw.gateway.status
  - module: s2sgw.gateway.confirm
  - module: s2sgw.gateway.rollback
'''

EXAMPLES = r'''
- name: Apply the bundle, to be confirmed within 120 s
  s2sgw.gateway.apply:
    bundle: /var/lib/s2sgw/incoming/gw1
    gateway: gw1
    confirm_timeout: 120

- name: What would change (and what drifted), changing nothing
  s2sgw.gateway.apply:
    bundle: /var/lib/s2sgw/incoming/gw1
  check_mode: true
  diff: true
  register: plan

- name: A sandboxed host (its own netns, charon socket, FRR pathspace and root)
  s2sgw.gateway.apply:
    bundle: /tmp/bundles/gw-a
    root: /tmp/sandbox/gw-a/root
    netns: s2sgw-gw-a
    vici: unix:///tmp/sandbox/gw-a/root/run/charon.vici
    frr_pathspace: s2sgw-gw-a
    skip: [links, vrf]
'''

RETURN = r'''
release:
  description: The host's release after the task (in check mode, the release it is on).
  returned: always
  type: str
  sample: 3f2a9c0d5e4b...
previous_release:
  description: The host's release before the task.
  returned: always
  type: str
would_release:
  description: In check mode, the first 12 hex digits of the release the bundle would make current.
  returned: check mode, when the release would change
  type: str
gateway:
  description: The gateway the bundle was built for.
  returned: when the bundle could be read
  type: str
commit:
  description: The source commit the bundle was built from (null outside Git).
  returned: when the bundle could be read
  type: str
signer:
  description: The trusted signer whose signature the host checked (null when the host trusts no signers).
  returned: when the bundle could be read
  type: str
tenants:
  description: Each tenant the bundle adds, changes or removes, and how.
  returned: always
  type: dict
  sample: {contoso: changed}
drift:
  description: Live state that differs from what the current release holds (from C(s2sgw status)), before the task.
  returned: always
  type: list
  elements: str
plan:
  description: What C(s2sgw apply --dry-run) said it would do.
  returned: always
  type: str
pending_confirm:
  description: The release's confirm deadline, when C(confirm_timeout) was given.
  returned: when a confirm is pending
  type: dict
healthy_before:
  description: The health items (see M(s2sgw.gateway.status)) that were healthy before the task; a gate compares them after.
  returned: always
  type: list
  elements: str
rolled_back:
  description: On failure, whether s2sgw undid the change (the host is back on its previous release).
  returned: failure
  type: bool
'''

import glob
import json
import os
import re
import shutil
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.s2sgw.gateway.plugins.module_utils.s2sgw import HOST_ARGS, host_state, provenance, run, s2sgw_message, status


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def tenant_text(folder, manifest, tenant):
    """A tenant's part of a bundle or release: its connection file and its summary, as text a diff can show."""
    if not folder or not manifest or tenant not in manifest.get('tenants', {}):
        return ''
    parts = []
    conf = read(os.path.join(folder, 'swanctl', 'conf.d', tenant + '.conf'))
    if conf is None:
        found = glob.glob(os.path.join(folder, 'swanctl', 'conf.d', '*', tenant + '.conf'))
        conf = read(found[0]) if found else None
    if conf is not None:
        parts.append('# swanctl/conf.d/%s.conf\n%s' % (tenant, conf))
    entry = manifest['tenants'][tenant]
    summary = entry.get('summary')
    if summary is None:
        text = read(os.path.join(folder, 'summaries', tenant + '.json'))
        if text is None:
            found = glob.glob(os.path.join(folder, 'summaries', '*', tenant + '.json'))
            text = read(found[0]) if found else None
        summary = json.loads(text) if text else None
    parts.append('# summary (digest %s)\n%s\n' % (entry.get('digest', '?')[:12], json.dumps(summary, indent=2, sort_keys=True)))
    return '\n'.join(parts)


def manifest_of(folder):
    text = read(os.path.join(folder, 'manifest.json')) if folder else None
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def unpack(module, archive):
    """Unpacks a bundle archive into a temporary folder; returns (folder, the bundle folder in it)."""
    tmp = tempfile.mkdtemp(prefix='s2sgw-bundle-')
    try:
        with tarfile.open(archive, 'r:*') as tar:
            for m in tar.getmembers():
                parts = m.name.split('/')
                if m.name.startswith('/') or '..' in parts or not (m.isfile() or m.isdir()):
                    raise ValueError('%s: %s is not a plain file or folder inside the archive' % (archive, m.name))
            tar.extractall(tmp)
    except (tarfile.TarError, ValueError, IOError, OSError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        module.fail_json(msg='the bundle archive cannot be read: %s; nothing was changed' % e, changed=False)
    if os.path.exists(os.path.join(tmp, 'manifest.json')):
        return tmp, tmp
    subs = [d for d in os.listdir(tmp) if os.path.isdir(os.path.join(tmp, d))]
    if len(subs) == 1:
        return tmp, os.path.join(tmp, subs[0])
    shutil.rmtree(tmp, ignore_errors=True)
    module.fail_json(msg='%s holds no bundle (manifest.json at its top or in its one folder); nothing was changed' % archive, changed=False)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bundle=dict(type='path', required=True),
            gateway=dict(type='str'),
            confirm_timeout=dict(type='int'),
            full=dict(type='bool', default=False),
            keep=dict(type='int'),
            **HOST_ARGS
        ),
        supports_check_mode=True,
    )
    p = module.params
    tmp = None
    if os.path.isfile(p['bundle']):
        tmp, p['bundle'] = unpack(module, p['bundle'])
    try:
        work(module, p)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def work(module, p):
    argv = ['--bundle', p['bundle']]
    if p['gateway']:
        argv += ['--gateway', p['gateway']]
    if p['full']:
        argv += ['--full']

    was = host_state(module)['release']
    before = status(module)
    drift = [d['message'] for d in before.get('degraded', [])]
    result = dict(changed=False, release=was, previous_release=was, drift=drift, tenants={},
                  healthy_before=before['healthy'])

    # The dry run checks what the real apply checks first (gateway, signature, files, secrets, the tools' checks)
    # and says what would change; a refusal here means nothing was touched. A real run without --diff needs no
    # dry run: apply itself refuses before any change and says the same.
    if module.check_mode or module._diff:
        rc, out, err = run(module, 'apply', argv + ['--dry-run'])
        result['plan'] = out.strip()
        result.update(provenance(out))
        if rc != 0:
            module.fail_json(msg=s2sgw_message('apply', err, out), rc=rc, rolled_back=False, **result)
        result['tenants'] = dict(re.findall(r'^  tenant (\S+): (added|changed|removed)$', out, re.M))
        m = re.search(r'^would switch (\S+) -> (\S+):', out, re.M)
        would = m is not None and 'already applied: nothing to do' not in out
        if would:
            result['would_release'] = m.group(2)
    tenants = result['tenants']

    if module._diff:
        root = p['root'] or '/'
        current = os.path.join(root, 'var/lib/s2sgw/current')
        cur_manifest, new_manifest = manifest_of(current), manifest_of(p['bundle'])
        diffs = []
        for t in sorted(tenants):
            diffs.append(dict(
                before_header='tenant %s (release %s)' % (t, (before.get('release') or 'none')[:12]),
                after_header='tenant %s (bundle %s, %s)' % (t, result.get('would_release', '?'), tenants[t]),
                before=tenant_text(current, cur_manifest, t),
                after=tenant_text(p['bundle'], new_manifest, t),
            ))
        if drift:
            diffs.append(dict(prepared='drift (live state differs from release %s):\n%s\n' % ((before.get('release') or 'none')[:12], '\n'.join('  ' + d for d in drift))))
        if result.get('would_release') and not tenants:
            diffs.append(dict(prepared=result['plan'] + '\n'))
        result['diff'] = diffs

    if module.check_mode:
        result['changed'] = 'would_release' in result
        module.exit_json(**result)

    argv_real = list(argv)
    if p['confirm_timeout'] is not None:
        argv_real += ['--confirm', str(p['confirm_timeout'])]
    if p['keep'] is not None:
        argv_real += ['--keep', str(p['keep'])]
    rc, out, err = run(module, 'apply', argv_real)
    result.update(provenance(err))
    if 'plan' not in result:
        result['plan'] = err.strip()
        result['tenants'] = dict(re.findall(r'^  tenant (\S+): (added|changed|removed)$', err, re.M))
    after = host_state(module)
    result['release'] = after.get('release')
    if rc != 0:
        result['changed'] = after.get('release') != was
        module.fail_json(msg=s2sgw_message('apply', err, out), rc=rc, rolled_back='rolled back:' in err, **result)
    if after.get('pendingConfirm'):
        result['pending_confirm'] = after['pendingConfirm']
    result['changed'] = after.get('release') != was
    module.exit_json(**result)


if __name__ == '__main__':
    main()
