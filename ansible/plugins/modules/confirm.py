#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 s2sgw contributors; MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: confirm
short_description: Confirm the release a C(s2sgw apply) with a confirm timeout made current
description:
  - Runs C(s2sgw confirm); the release stays and its rollback timer stops. C(changed) is true when a release waited for its confirm.
  - A failure carries s2sgw's own message.
version_added: 1.0.0
author:
  - s2sgw maintainers
options:
  executable:
    description: The s2sgw program.
    type: str
    default: s2sgw
  root:
    description: The host's root folder (C(--root)).
    type: path
  netns:
    description: The network namespace of the host's daemons (C(--netns)).
    type: str
  vici:
    description: charon's VICI socket as a swanctl URI (C(--vici)).
    type: str
  frr_pathspace:
    description: FRR's pathspace (C(--frr-pathspace)).
    type: str
  skip:
    description: Steps this host cannot run (C(--skip)); status does not judge what they own.
    type: list
    elements: str
    default: []
  lock_wait:
    description: Seconds to wait for another command's lock (C(--lock-wait)).
    type: int
notes:
  - Supports check mode (reports what would change, changes nothing).
seealso:
  - module: s2sgw.gateway.apply
'''

EXAMPLES = r'''
- name: Keep the new release
  s2sgw.gateway.confirm:
    root: /
'''

RETURN = r'''
release:
  description: The host's release after the task.
  returned: always
  type: str
previous_release:
  description: The host's release before the task.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.s2sgw.gateway.plugins.module_utils.s2sgw import HOST_ARGS, host_state, run, s2sgw_message

COMMAND = 'confirm'


def main():
    spec = dict(**HOST_ARGS)
    if COMMAND == 'rollback':
        spec['to'] = dict(type='str')
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    before = host_state(module)
    result = dict(changed=False, release=before.get('release'), previous_release=before.get('release'))
    if module.check_mode:
        if COMMAND == 'confirm':
            result['changed'] = bool(before.get('pendingConfirm'))
        else:
            result['changed'] = bool(module.params.get('to') or before.get('previous')) and module.params.get('to') != before.get('release')
        module.exit_json(**result)
    argv = ['--to', module.params['to']] if module.params.get('to') else []
    rc, out, err = run(module, COMMAND, argv)
    after = host_state(module)
    result['release'] = after.get('release')
    if rc != 0:
        module.fail_json(msg=s2sgw_message(COMMAND, err, out), rc=rc, **result)
    result['changed'] = bool(before.get('pendingConfirm')) if COMMAND == 'confirm' else after.get('release') != before.get('release')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
