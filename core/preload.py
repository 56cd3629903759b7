"""Imported once by the sandbox's forkserver, the template every worker forks from.

It prepares that process as :func:`core.sandbox.prepare_process` prepares a worker and
runs the sandbox's initializer there (plugins loaded, JIT code compiled), so workers,
and the replacements of crashed ones, start ready in milliseconds instead of seconds.
"""

import json
import os

from core.sandbox import INITIALIZER_ENV, prepare_process

_initializer = os.environ.get(INITIALIZER_ENV)
prepare_process(tuple(json.loads(_initializer)) if _initializer else None)
