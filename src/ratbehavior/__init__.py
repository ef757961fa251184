"""ratbehavior: 20 ms rat behaviour recognition from DeepLabCut keypoints fused with a head IMU."""

import logging
from importlib.metadata import PackageNotFoundError, version

from ratbehavior.cpu_kernels import pin_cpu_kernels

# Before any of the package's modules computes: a seed must give the same model on every machine.
pin_cpu_kernels()

# Importing Great Expectations logs, at INFO, one line per closure its API registry skips: about 200
# lines in every process that validates, 80 % of `make run`'s output under Kubeflow's executor,
# which logs INFO. Its warnings and errors still show.
logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)

try:
    __version__ = version("ratbehavior")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
