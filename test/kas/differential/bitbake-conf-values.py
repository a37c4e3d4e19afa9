#!/usr/bin/env python3
# Evaluates BitBake conf files with BitBake's own parser and prints every variable they set, as
# JSON: {"VAR": {"value": "...", "weak": true|false, "flags": {...}}}. "weak" means the value
# comes only from a `??=` default, which a later `?=` or `=` (distro or machine conf) still
# replaces; flags are the variable's own flags (VAR[flag] = ...), expanded.
# Usage: bitbake-conf-values.py BITBAKE_LIB_DIR TOPDIR FILE...   (parsed in order, one datastore)
import json
import sys

sys.path.insert(0, sys.argv[1])
import bb.data  # noqa: E402
import bb.parse  # noqa: E402

d = bb.data.init()
d.setVar('BBPATH', '')
d.setVar('TOPDIR', sys.argv[2])
builtin = set(d.keys())
for conf in sys.argv[3:]:
    bb.parse.handle(conf, d, True)

out = {}
for name in sorted(d.keys()):
    if name in builtin or name.startswith('__') or name in ('FILE', 'FILE_DIRNAME'):
        continue
    raw = d.getVar(name, False)
    if raw is not None and not isinstance(raw, str):
        continue
    try:
        value = d.getVar(name, True)  # applies :append, :prepend and :remove
    except Exception as e:  # an expansion that needs the full metadata: compare the raw text
        value = raw
    strong = d.getVarFlag(name, '_content', False, noweakdefault=True)
    flags = {}
    for flag, fv in (d.getVarFlags(name) or {}).items():
        if flag.startswith('_') or flag in ('filename', 'lineno', 'file', 'line') or not isinstance(fv, str):
            continue
        flags[flag] = d.expand(fv) if '${' in fv and '${@' not in fv else fv
    out[name] = {'value': value, 'weak': strong is None and raw is not None, 'flags': flags}
print(json.dumps(out, indent=1, sort_keys=True))
