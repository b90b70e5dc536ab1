# -*- coding: utf-8 -*-
# Copyright (c) 2026 s2sgw contributors; MIT License
# The options every module of the collection passes to s2sgw on the host (HOST_ARGS in module_utils/s2sgw.py).
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  executable:
    description: The s2sgw program.
    type: str
    default: s2sgw
  root:
    description: The host's root folder (C(--root)); a sandboxed host's, or C(/).
    type: path
  netns:
    description: The network namespace the host's daemons and links live in (C(--netns)).
    type: str
  vici:
    description: charon's VICI socket as a swanctl URI (C(--vici)), for example C(unix:///var/run/charon.vici).
    type: str
  frr_pathspace:
    description: FRR's pathspace (C(--frr-pathspace), FRR's C(-N)).
    type: str
  skip:
    description: Steps this host cannot run (C(--skip)), for example C(links) and C(vrf) without kernel VRF; status does not judge what they own.
    type: list
    elements: str
    default: []
  lock_wait:
    description: Seconds to wait for another command's lock (C(--lock-wait)).
    type: int
'''
