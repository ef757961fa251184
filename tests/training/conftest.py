"""One local Ray for every test that needs it: 2 CPUs, no dashboard, usage statistics off."""

import pytest

from ratbehavior.training.config import RayConfig


@pytest.fixture(scope="session")
def local_ray():
    import ray

    from ratbehavior.training.ray_launcher import ensure_ray

    ensure_ray(RayConfig(local_num_cpus=2))
    yield
    ray.shutdown()
