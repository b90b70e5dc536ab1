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
extends_documentation_fragment:
  - s2sgw.gateway.host
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

from ansible_collections.s2sgw.gateway.plugins.module_utils.s2sgw import release_command


def main():
    release_command('confirm')


if __name__ == '__main__':
    main()
