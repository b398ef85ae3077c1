"""
Runs calls through duplicity 0.8.22's own log module (duplicity/log.py) and reports what reached
stdout, stderr and the --log-file, for test/cli/console-reporter.test.ts to compare against.

stdin: a JSON list of cases {"verbosity": n, "calls": [[message, level, code, extra, force], ...]};
stdout: a JSON list of {"stdout": ..., "stderr": ..., "log": ...}. Each case runs in a forked child.
"""
import json
import logging
import os
import sys
import tempfile

from duplicity import log


def run(case, workdir):
    out_path = os.path.join(workdir, 'out')
    err_path = os.path.join(workdir, 'err')
    log_path = os.path.join(workdir, 'log')
    out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    log.setup()
    log.setverbosity(case['verbosity'])
    log.add_file(log_path)
    for message, level, code, extra, force in case['calls']:
        log.Log(message, level, code, extra or None, force)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()


def main():
    cases = json.load(sys.stdin)
    results = []
    for case in cases:
        with tempfile.TemporaryDirectory() as workdir:
            pid = os.fork()
            if pid == 0:
                try:
                    run(case, workdir)
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            result = {}
            for key in ('out', 'err', 'log'):
                with open(os.path.join(workdir, key), encoding='utf-8') as f:
                    result[key] = f.read()
            results.append(result)
    json.dump(results, sys.stdout)


main()
