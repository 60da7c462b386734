# Filters of the beacond deployment (provisioning/ansible), pure functions of
# their arguments, so that host facts can come from files (fixtures in the
# tests, /proc/cpuinfo and `lspci -Dnn` on a real host).
#
#   cpulist_expand('2-5,8')            -> [2, 3, 4, 5, 8]
#   cpulist_compress([2, 3, 4, 5, 8])  -> '2-5,8'
#   cpuinfo_parse(text)                -> {'vendor': 'GenuineIntel', 'flags': [...], 'cpus': [0, 1, ...]}
#   lspci_nics(text)                   -> [{'addr': '0000:3b:00.0', 'id': '8086:1592', 'desc': '...'}, ...]
#   kernel_cmdline_merge(cur, params, managed) -> cur without the managed keys, then params
from __future__ import absolute_import, division, print_function

import re

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def cpulist_expand(spec):
    """'2-5,8' (the kernel's cpulist syntax) -> sorted list of ints."""
    if spec is None:
        return []
    if isinstance(spec, int):
        return [spec]
    if isinstance(spec, (list, tuple)):
        return sorted(set(int(x) for x in spec))
    out = set()
    for part in str(spec).replace(' ', '').split(','):
        if not part:
            continue
        m = re.match(r'^(\d+)(?:-(\d+))?$', part)
        if not m:
            raise AnsibleFilterError("cpulist_expand: bad CPU list element %r in %r" % (part, spec))
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) is not None else a
        if b < a:
            raise AnsibleFilterError("cpulist_expand: descending range %r in %r" % (part, spec))
        out.update(range(a, b + 1))
    return sorted(out)


def cpulist_compress(cpus):
    """[2, 3, 4, 5, 8] -> '2-5,8'."""
    cpus = cpulist_expand(cpus)
    parts = []
    i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        parts.append(str(cpus[i]) if i == j else "%d-%d" % (cpus[i], cpus[j]))
        i = j + 1
    return ','.join(parts)


def cpuinfo_parse(text):
    """/proc/cpuinfo (x86) -> vendor, the first CPU's flags, the CPU numbers."""
    vendor = ''
    flags = None
    cpus = []
    for line in (text or '').splitlines():
        key, sep, val = line.partition(':')
        if not sep:
            continue
        key = key.strip()
        val = val.strip()
        if key == 'processor':
            try:
                cpus.append(int(val))
            except ValueError:
                pass
        elif key == 'vendor_id' and not vendor:
            vendor = val
        elif key == 'flags' and flags is None:
            flags = val.split()
    if not cpus:
        raise AnsibleFilterError("cpuinfo_parse: no 'processor' line: not a /proc/cpuinfo")
    return {'vendor': vendor, 'flags': flags or [], 'cpus': sorted(cpus)}


_LSPCI = re.compile(r'^(?P<addr>(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+'
                    r'(?P<cls>[^\[]*?)\s*\[(?P<code>[0-9a-fA-F]{4})\]:\s*(?P<desc>.*?)\s*'
                    r'\[(?P<id>[0-9a-fA-F]{4}:[0-9a-fA-F]{4})\](?:\s*\(rev [0-9a-fA-F]+\))?'
                    r'(?:\s*\(prog-if.*\))?\s*$')


def lspci_nics(text):
    """`lspci -Dnn` -> the Ethernet controllers (class 0200), in bus order."""
    nics = []
    for line in (text or '').splitlines():
        m = _LSPCI.match(line.strip())
        if not m or m.group('code').lower() != '0200':
            continue
        addr = m.group('addr').lower()
        if addr.count(':') == 1:
            addr = '0000:' + addr
        nics.append({'addr': addr, 'id': m.group('id').lower(), 'desc': m.group('desc'),
                     'vendor': m.group('id').lower().split(':')[0]})
    return nics


def kernel_cmdline_merge(current, params, managed):
    """Drop every word of CURRENT whose key (before '=') is in MANAGED, then
    append PARAMS (a list of words) in order.  Idempotent: merging the result
    again gives the same string."""
    managed = set(managed or [])
    words = [w for w in (current or '').split() if w.split('=', 1)[0] not in managed]
    return ' '.join(words + [p for p in params if p])


class FilterModule(object):
    def filters(self):
        return {
            'cpulist_expand': cpulist_expand,
            'cpulist_compress': cpulist_compress,
            'cpuinfo_parse': cpuinfo_parse,
            'lspci_nics': lspci_nics,
            'kernel_cmdline_merge': kernel_cmdline_merge,
        }
