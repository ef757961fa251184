"""Great Expectations' import-time chatter stays out of the logs of a process that logs INFO (as
Kubeflow's executor does), while its warnings still get through."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import logging
logging.basicConfig(level=logging.INFO)
import ratbehavior.validation
logging.getLogger("great_expectations._docs_decorators").warning("still shown")
"""


def test_importing_validation_under_info_logging_is_quiet() -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300, check=True)
    assert "Skipping registering function" not in done.stderr
    assert "still shown" in done.stderr
