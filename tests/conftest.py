"""Test-wide settings."""

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
