# -*- coding: utf-8 -*-
# Shared by the s2sgw.gateway modules: the runner options every s2sgw host command takes, running the CLI, and
# turning its output into results. s2sgw's own messages are what a failure says; a Python traceback never is.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

HOST_ARGS = dict(
    executable=dict(type='str', default='s2sgw'),
    root=dict(type='path'),
    netns=dict(type='str'),
    vici=dict(type='str'),
    frr_pathspace=dict(type='str'),
    skip=dict(type='list', elements='str', default=[]),
    lock_wait=dict(type='int'),
)


def host_argv(p):
    """The host options of apply, confirm, rollback and status, from the module's parameters."""
    argv = []
    for opt, key in (('--root', 'root'), ('--netns', 'netns'), ('--vici', 'vici'), ('--frr-pathspace', 'frr_pathspace')):
        if p.get(key):
            argv += [opt, p[key]]
    if p.get('skip'):
        argv += ['--skip', ','.join(p['skip'])]
    if p.get('lock_wait') is not None:
        argv += ['--lock-wait', str(p['lock_wait'])]
    return argv


def run(module, command, argv):
    """Runs `s2sgw COMMAND ARGV... HOST-OPTIONS`; returns (rc, stdout, stderr). A missing executable fails the task."""
    exe = module.params['executable']
    if os.sep not in exe:
        found = module.get_bin_path(exe)
        if not found:
            module.fail_json(msg='%s not found on the host (install the s2sgw package, or set executable)' % exe)
        exe = found
    cmd = [exe, command] + argv + host_argv(module.params)
    # GLIBC_TUNABLES: huge pages for malloc's big blocks, as bin/s2sgw.js and the package's units set (the single
    # executable cannot set it for itself): apply reads 60-100 MB of files at 10,000 tenants (docs/apply.md).
    rc, out, err = module.run_command(cmd, environ_update={'NO_COLOR': '1', 'GLIBC_TUNABLES': 'glibc.malloc.hugetlb=1'})
    return rc, out, err


def s2sgw_message(command, err, out=''):
    """What s2sgw said of a failure: its `s2sgw COMMAND:` lines and what follows them (the step, the tool's words)."""
    text = err or out or ''
    lines = text.rstrip('\n').split('\n')
    for i, line in enumerate(lines):
        if line.startswith('s2sgw %s:' % command) or line.startswith('s2sgw:'):
            return '\n'.join(l for l in lines[i:] if not l.startswith('done in ')).strip()
    return text.strip() or 's2sgw %s failed without a message' % command


def host_state(module):
    """The host's release, previous release and pending confirm, read from s2sgw's state files (no process started)."""
    base = os.path.join(module.params.get('root') or '/', 'var', 'lib', 's2sgw')
    out = {'release': None, 'previous': None, 'pendingConfirm': None}
    try:
        with open(os.path.join(base, 'state.json')) as f:
            st = json.load(f)
        out['release'], out['previous'] = st.get('current'), st.get('previous')
    except (IOError, OSError, ValueError):
        pass
    try:
        with open(os.path.join(base, 'pending-confirm.json')) as f:
            pc = json.load(f)
        out['pendingConfirm'] = {'release': pc.get('release'), 'deadline': pc.get('deadline')}
    except (IOError, OSError, ValueError):
        pass
    return out


def status(module):
    """`s2sgw status --format json` as a dict, plus the health items the gates compare. Fails the task when unreadable."""
    rc, out, err = run(module, 'status', ['--format', 'json'])
    try:
        s = json.loads(out)
    except ValueError:
        module.fail_json(msg=s2sgw_message('status', err, out), rc=rc)
    s['items'], s['healthy'] = health_items(s)
    s['tenant_names'] = [t['tenant'] for t in s.get('tenants', [])]
    s['tunnels_up'] = sorted(c['name'] for t in s.get('tenants', []) for c in t.get('connections', []) if tunnel_up(c))
    s['bgp_established'] = sorted('%s/%s' % (t['tenant'], b['neighbor']) for t in s.get('tenants', []) for b in t.get('bgp', []) if b.get('state') == 'Established')
    return s


def tunnel_up(c):
    sa = c.get('sa') or {}
    return sa.get('state') == 'ESTABLISHED' and any(ch.get('state') == 'INSTALLED' for ch in sa.get('children', []))


def health_items(s):
    """Every item the release holds (VRFs, loaded connections, tunnels, BGP sessions) and those of them that are healthy.
    A gate compares them before and after an apply: what was healthy before must be healthy after."""
    items, healthy = [], []

    def add(key, ok):
        items.append(key)
        if ok:
            healthy.append(key)

    add('daemons', not s.get('problems'))
    for t in s.get('tenants', []):
        name = t['tenant']
        vrf = t.get('vrf') or {}
        if vrf.get('exists') is not None:
            add('vrf:%s' % name, bool(vrf.get('exists')) and (vrf.get('expectedTable') is None or vrf.get('table') == vrf.get('expectedTable')))
        for c in t.get('connections', []):
            add('connection:%s' % c['name'], bool(c.get('loaded')))
            add('tunnel:%s' % c['name'], tunnel_up(c))
        for b in t.get('bgp', []):
            add('bgp:%s/%s' % (name, b['neighbor']), b.get('state') == 'Established')
    return sorted(items), sorted(healthy)


PROVENANCE = re.compile(r'^bundle from gateway (\S+), (?:commit ([0-9a-f]+)(?: \(dirty\))?|[^,]*), [^,]*, (?:signed by (.+) \(|.*$)', re.M)


def provenance(text):
    """gateway, commit and signer from apply's `bundle from ...` line (dry runs print it to stdout)."""
    m = PROVENANCE.search(text or '')
    if not m:
        return {}
    return {'gateway': m.group(1), 'commit': m.group(2), 'signer': m.group(3)}


def release_command(command):
    """The whole of the confirm and rollback modules: run C(s2sgw COMMAND), changed when the release (or, for
    confirm, a pending confirm) changed; check mode says so without running it."""
    from ansible.module_utils.basic import AnsibleModule
    spec = dict(**HOST_ARGS)
    if command == 'rollback':
        spec['to'] = dict(type='str')
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    before = host_state(module)
    result = dict(changed=False, release=before.get('release'), previous_release=before.get('release'))
    if module.check_mode:
        if command == 'confirm':
            result['changed'] = bool(before.get('pendingConfirm'))
        else:
            result['changed'] = bool(module.params.get('to') or before.get('previous')) and module.params.get('to') != before.get('release')
        module.exit_json(**result)
    argv = ['--to', module.params['to']] if module.params.get('to') else []
    rc, out, err = run(module, command, argv)
    after = host_state(module)
    result['release'] = after.get('release')
    if rc != 0:
        module.fail_json(msg=s2sgw_message(command, err, out), rc=rc, **result)
    result['changed'] = bool(before.get('pendingConfirm')) if command == 'confirm' else after.get('release') != before.get('release')
    module.exit_json(**result)
