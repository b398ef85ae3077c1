# Oracle for the selection and walk tests: runs duplicity 0.8.22's own Select over a tree.
# Input (stdin, JSON): {"cases": [{"root": hex, "args": [[option, hex-or-null]],
#                                   "filelists": [hex], "nullSeparator": bool}]}
# Output (stdout, JSON): one item per case, {"entries": [[hex component, ...], ...]} or {"error": str}.
import gettext
import io
import json
import sys

gettext.install('duplicity', names=['ngettext'])

from duplicity import config, log, path, selection  # noqa: E402

log.setup()
log.setverbosity(log.ERROR)


class Fatal(Exception):
    pass


def fatal(s, code=None, extra=None):
    raise Fatal(s)


log.FatalError = fatal


def run_case(case):
    config.null_separator = bool(case.get('nullSeparator'))
    root = path.Path(path.Path(bytes.fromhex(case['root'])).get_canonical())
    sel = selection.Select(root)
    args = []
    for opt, arg in case['args']:
        if arg is None:
            args.append((opt, None))
        elif opt == '--exclude-older-than':
            args.append((opt, int(bytes.fromhex(arg).decode())))
        else:
            args.append((opt, bytes.fromhex(arg).decode('utf-8', 'surrogateescape')))
    filelists = [io.TextIOWrapper(io.BytesIO(bytes.fromhex(h)), encoding='utf-8') for h in case.get('filelists', [])]
    try:
        sel.ParseArgs(args, filelists)
        entries = [[c.hex() for c in p.index] for p in sel.set_iter()]
    except (Fatal, Exception) as e:  # noqa: B014
        return {'error': '%s: %s' % (type(e).__name__, e)}
    return {'entries': entries}


cases = json.load(sys.stdin)['cases']
json.dump([run_case(c) for c in cases], sys.stdout)
