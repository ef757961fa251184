"""ratbehavior: 20 ms rat behaviour recognition from DeepLabCut keypoints fused with a head IMU."""

from importlib.metadata import PackageNotFoundError, version

from ratbehavior.cpu_kernels import pin_cpu_kernels

# Before any of the package's modules computes: a seed must give the same model on every machine.
pin_cpu_kernels()

try:
    __version__ = version("ratbehavior")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
