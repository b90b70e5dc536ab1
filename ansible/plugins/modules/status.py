#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 s2sgw contributors; MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: status
short_description: Read C(s2sgw status) of a gateway host as facts
description:
  - Runs C(s2sgw status --format json) and returns it as the fact C(s2sgw_status), with the release, the tenants,
    the tunnels up and the BGP sessions established, and the health items a gate compares before and after an apply.
  - Changes nothing; C(changed) is always false. A degraded host is not a failure of this module (see C(health)).
version_added: 1.0.0
author:
  - s2sgw maintainers
extends_documentation_fragment:
  - s2sgw.gateway.host
notes:
  - Supports check mode.
seealso:
  - module: s2sgw.gateway.apply
'''

EXAMPLES = r'''
- name: Read the gateway's state
  s2sgw.gateway.status:
  register: before

- name: Every tunnel up before the apply is up now
  ansible.builtin.assert:
    that: before.ansible_facts.s2sgw_status.tunnels_up | difference(ansible_facts.s2sgw_status.tunnels_up) | length == 0
'''

RETURN = r'''
status:
  description: The same as the fact C(s2sgw_status), as a result key (kept when a gate's C(until) fails).
  returned: always
  type: dict
ansible_facts:
  description: Facts about the host's s2sgw state.
  returned: always
  type: dict
  contains:
    s2sgw_status:
      description: C(s2sgw status --format json) (version, health, release, previous, tenants, degraded, problems), plus the fields below.
      type: dict
      contains:
        release:
          description: The current release (null before the first apply).
          type: str
        health:
          description: ok, degraded or error.
          type: str
        tenant_names:
          description: The tenants of the current release.
          type: list
          elements: str
        tunnels_up:
          description: Connections with an established IKE SA and an installed CHILD SA.
          type: list
          elements: str
        bgp_established:
          description: BGP sessions established, as tenant/neighbor.
          type: list
          elements: str
        items:
          description: Every health item the release holds (vrf:, connection:, tunnel:, bgp:).
          type: list
          elements: str
        healthy:
          description: The items of C(items) that are healthy now.
          type: list
          elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.s2sgw.gateway.plugins.module_utils.s2sgw import HOST_ARGS, status


def main():
    module = AnsibleModule(argument_spec=dict(**HOST_ARGS), supports_check_mode=True)
    s = status(module)
    # Also as a plain result key: a task that fails its until: (a gate) keeps its result, not always its facts.
    module.exit_json(changed=False, status=s, ansible_facts=dict(s2sgw_status=s))


if __name__ == '__main__':
    main()
