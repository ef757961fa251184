"""Importing ratbehavior caps torch's CPU kernels at AVX2, so that AVX2 and AVX-512 machines compute
these kernels alike. Each case runs in a fresh interpreter: the libraries fix their kernels at
their first computation, once per process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ratbehavior.cpu_kernels import X86_KERNELS, on_x86

pytestmark = pytest.mark.skipif(not on_x86(), reason="the cap concerns x86-64 kernels only")

# A bit of each library the model uses: a Transformer layer (ATen, MKL) and a dilated convolution (oneDNN).
COMPUTE = """
import hashlib, torch
torch.set_num_threads(1)
x = torch.randn(4, 256, 64, generator=torch.Generator().manual_seed(0))
torch.manual_seed(0)
layer = torch.nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True).eval()
conv = torch.nn.Conv1d(64, 64, 3, padding=2, dilation=2)
with torch.no_grad():
    y = torch.cat([layer(x), conv(x.transpose(1, 2)).transpose(1, 2)])
print(torch.backends.cpu.get_cpu_capability(), hashlib.md5(y.numpy().tobytes()).hexdigest())
"""


def _run(code: str, **env: str) -> tuple[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in X86_KERNELS}
    out = subprocess.run([sys.executable, "-c", code], env=clean | env, capture_output=True, text=True, check=True)
    capability, digest = out.stdout.split()
    return capability, digest


@pytest.fixture(scope="module")
def avx2_cpu() -> None:
    capability, _ = _run(COMPUTE)
    if capability not in ("AVX2", "AVX512"):
        pytest.skip(f"this CPU's kernels are {capability}, below AVX2")


def test_importing_the_package_computes_as_a_process_started_with_avx2_kernels(avx2_cpu):
    """Set at import, after torch's own import, the cap still reaches ATen, MKL and oneDNN: the bits are
    those of a process that had the variables from its start."""
    pinned = _run("import torch, ratbehavior\n" + COMPUTE)
    started_so = _run(COMPUTE, **X86_KERNELS)
    assert pinned == started_so and pinned[0] == "AVX2"


def test_a_value_the_user_set_wins(avx2_cpu):
    capability, _ = _run("import ratbehavior\n" + COMPUTE, ATEN_CPU_CAPABILITY="default")
    assert capability == "DEFAULT"


def test_mkl_follows_the_cap_on_intel_and_reports_its_own_branch_elsewhere(avx2_cpu):
    """MKL documents its AVX2 branch for Intel CPUs; an AMD EPYC ran AUTO instead, which runs record."""
    code = (
        "import ratbehavior\nfrom ratbehavior.cpu_kernels import cpu_name, mkl_branch\nprint(mkl_branch(), cpu_name())"
    )

    def branch_and_cpu(**env: str) -> list[str]:
        clean = {k: v for k, v in os.environ.items() if k not in X86_KERNELS} | env
        out = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True)
        return out.stdout.split(maxsplit=1)

    branch, cpu = branch_and_cpu()
    assert branch == "AVX2" if "GenuineIntel" in cpu else branch in ("AVX2", "AUTO")
    assert branch_and_cpu(MKL_CBWR="COMPATIBLE")[0] == "COMPATIBLE"
