"""Test-wide settings and the shared local Ray."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Test tensors are tiny: a second thread only adds synchronisation, and on a machine that is busy
    with other work an unscheduled thread stalls every operation."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for every test that needs it: 2 CPUs, no dashboard, usage statistics off."""
    import ray

    from ratbehavior.training.config import RayConfig
    from ratbehavior.training.ray_launcher import ensure_ray

    ensure_ray(RayConfig(local_num_cpus=2))
    yield
    ray.shutdown()
