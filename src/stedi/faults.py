"""Named points where a test can kill the process (SIGKILL), to prove that runs are crash-safe.

`STEDI_KILL_AT=<point>` kills the process the first time it reaches that point: `read` (every
landing file read, nothing committed), `build:<table>` (a table built, not yet committed),
`commit:<table>` (data files written, before the catalog commit) or `committed:<table>`.
"""

from __future__ import annotations

import os
import signal

ENV = "STEDI_KILL_AT"


def point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
