#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 s2sgw contributors; MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: bundle_info
short_description: Read what a built s2sgw bundle says about itself (its manifest), without applying it
description:
  - Reads C(manifest.json) of a bundle folder or C(.tar.gz) (C(tar -C out -czf gw1.tar.gz gw1)) without unpacking it
    and returns its gateway, source commit and rollout wave (the gateway file's C(rollout.wave), when set).
  - "The rollout playbook runs it on the controller (C(delegate_to: localhost)) before any host is touched, to check
    each host's inventory C(s2sgw_wave) against its bundle."
  - Changes nothing. Needs no s2sgw on the machine it runs on.
version_added: 1.0.0
author:
  - s2sgw maintainers
options:
  bundle:
    description:
      - A bundle folder (C(out/<gateway>) of C(s2sgw build)) or a C(.tar.gz) of it (C(manifest.json) at its top or in its one folder).
    type: path
    required: true
notes:
  - Supports check mode (it only reads).
seealso:
  - module: s2sgw.gateway.apply
'''

EXAMPLES = r'''
- name: Read the bundle CI built for this host
  s2sgw.gateway.bundle_info:
    bundle: "out/{{ inventory_hostname }}.tar.gz"
  delegate_to: localhost
  register: s2sgw_bundle
'''

RETURN = r'''
gateway:
  description: The gateway the bundle was built for.
  returned: always
  type: str
commit:
  description: The config repository's commit it was built from (null outside Git or when not recorded).
  returned: always
  type: str
wave:
  description: The gateway file's C(rollout.wave) (0 is the canary), null when the file sets none.
  returned: always
  type: int
'''

import json
import os
import tarfile

from ansible.module_utils.basic import AnsibleModule


def manifest_text(module, bundle):
    """manifest.json of a bundle folder, or of an archive (at its top or in its one folder), as text."""
    if os.path.isdir(bundle):
        try:
            with open(os.path.join(bundle, 'manifest.json')) as f:
                return f.read()
        except (IOError, OSError) as e:
            module.fail_json(msg='%s holds no bundle: %s' % (bundle, e))
    try:
        with tarfile.open(bundle, 'r:*') as tar:
            files = dict((m.name[2:] if m.name.startswith('./') else m.name, m) for m in tar.getmembers() if m.isfile())
            tops = set(n.split('/')[0] for n in files if '/' in n)
            name = 'manifest.json' if 'manifest.json' in files else ('%s/manifest.json' % tops.pop() if len(tops) == 1 else None)
            if name not in files:
                module.fail_json(msg='%s holds no bundle (manifest.json at its top or in its one folder)' % bundle)
            return tar.extractfile(files[name]).read().decode('utf-8')
    except (tarfile.TarError, IOError, OSError) as e:
        module.fail_json(msg='the bundle archive %s cannot be read: %s' % (bundle, e))


def main():
    module = AnsibleModule(argument_spec=dict(bundle=dict(type='path', required=True)), supports_check_mode=True)
    bundle = module.params['bundle']
    try:
        m = json.loads(manifest_text(module, bundle))
    except ValueError as e:
        module.fail_json(msg='%s: manifest.json is not JSON: %s' % (bundle, e))
    if not isinstance(m, dict) or not isinstance(m.get('gateway'), str):
        module.fail_json(msg='%s: manifest.json names no gateway' % bundle)
    rollout = m.get('rollout')
    wave = rollout.get('wave') if isinstance(rollout, dict) else None
    if wave is not None and (isinstance(wave, bool) or not isinstance(wave, int)):
        module.fail_json(msg='%s: manifest.json has rollout.wave %r, not a wave number' % (bundle, wave))
    source = m.get('source')
    module.exit_json(changed=False, gateway=m['gateway'], commit=source.get('commit') if isinstance(source, dict) else None, wave=wave)


if __name__ == '__main__':
    main()
