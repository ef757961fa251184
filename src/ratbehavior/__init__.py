"""ratbehavior: 20 ms rat behaviour recognition from DeepLabCut keypoints fused with a head IMU."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ratbehavior")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
