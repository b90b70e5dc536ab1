#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 s2sgw contributors; MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: rollback
short_description: Roll a gateway host back to its previous release
description:
  - Runs C(s2sgw rollback); the previous release (or C(to)) becomes current again, its daemons reloaded. C(changed) is true when the release changed.
  - A failure carries s2sgw's own message.
version_added: 1.0.0
author:
  - s2sgw maintainers
options:
  to:
    description: The release to go back to (default the previous one).
    type: str
extends_documentation_fragment:
  - s2sgw.gateway.host
notes:
  - Supports check mode (reports what would change, changes nothing).
seealso:
  - module: s2sgw.gateway.apply
'''

EXAMPLES = r'''
- name: Undo the apply
  s2sgw.gateway.rollback:
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
    release_command('rollback')


if __name__ == '__main__':
    main()
