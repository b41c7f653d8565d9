"""`python -m tests.runtime.automation.worker_process ARGS…`: the `trellis` command with the test
receivers' outbound policy (`receivers.LOOPBACK`: 127.0.0.1 allowed, `receiver.test` resolved to
it), for tests that run a worker in a process of its own that posts to receivers on 127.0.0.1.
A resolver is a function, not a setting, so it is passed in as code here."""

from __future__ import annotations

import sys
from dataclasses import replace

from tests.runtime.channels.receivers import LOOPBACK
from trellis.cli import main
from trellis.platform.settings import Settings

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], settings=replace(Settings.from_env(), outbound=LOOPBACK)))
