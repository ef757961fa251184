"""One instruction set for every floating-point kernel, so that a seed is meant to train the same
model on any x86-64 CPU, not only on the same CPU model (measured below: not yet fully so).

torch's own kernels (ATen), its BLAS (MKL) and its convolutions (oneDNN) each pick the widest vector
instructions the CPU offers, and AVX2 and AVX-512 sum in different orders. Training turns a last-bit
difference into a different model: the same data, configuration, seed and thread count gave
leave-one-animal-out macro-F1 0.913 on one machine and 0.895 on an AVX-512 one. Capping all three at
AVX2, which every x86-64 server of the last decade has, is meant to make those machines compute alike:
MKL promises it on Intel CPUs (conditional numerical reproducibility). Measured so far: two machines of
one Intel AVX-512 kind, capped, train the same model; an earlier machine, CPU unrecorded and uncapped,
agreed with them on the supervised-only model but not on the full one; an AMD CPU on AVX2 kernels
trained another full model (README). So runs record the CPU too (`cpu_name`), and the branch MKL
really runs (`mkl_branch`): MKL documents its AVX2 branch for Intel CPUs, and on that AMD CPU it ran
its default (AUTO) branch instead; of the branches asked for there, only COMPATIBLE, its slow branch
meant to run alike on Intel and other CPUs, was honoured.

The libraries read these variables at their first computation, not at import, so setting them when
`ratbehavior` is imported is early enough unless the caller already ran torch operations; an explicit
value in the environment wins. `active_kernels` tells which instruction set torch really uses.
"""

from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path

# ATen, MKL's conditional numerical reproducibility mode, oneDNN.
X86_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
# MKL's codes for its branches (mkl_cbwr.h).
MKL_BRANCHES = {
    1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 6: "SSSE3", 7: "SSE4_1", 8: "SSE4_2", 9: "AVX", 10: "AVX2",
    11: "AVX512_MIC", 12: "AVX512", 13: "AVX512_MIC_E1", 14: "AVX512_E1",
}  # fmt: skip
MKL_CBWR_BRANCH = 1


def on_x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")


def pin_cpu_kernels() -> None:
    """Cap the kernels at AVX2 on x86-64; other architectures have one kernel set and are left alone."""
    if on_x86():
        for key, value in X86_KERNELS.items():
            os.environ.setdefault(key, value)


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU this process runs on, e.g. 'AMD EPYC (AuthenticAMD family 25 model 1)': a virtual
    machine may mask the marketing name, and family and model still tell the microarchitecture."""
    try:
        lines = cpuinfo.read_text().split("\n\n", 1)[0].splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}
    ident = " ".join(
        f"{label}{fields[key]}"
        for key, label in (("vendor_id", ""), ("cpu family", "family "), ("model", "model "))
        if key in fields
    )
    name = fields.get("model name", platform.machine())
    return f"{name} ({ident})" if ident else name


def active_kernels() -> str:
    """The instruction set of torch's CPU kernels in this process, e.g. AVX2."""
    import torch

    return str(torch.backends.cpu.get_cpu_capability())


def mkl_branch() -> str:
    """The branch MKL runs in this process, e.g. AVX2, or AUTO where it ignored MKL_CBWR; 'none' without
    MKL, 'unknown' where torch's library does not expose MKL's query (it is MKL's internal name)."""
    import torch

    if not torch.backends.mkl.is_available():
        return "none"
    try:
        query = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so")).mkl_serv_cbwr_get
    except (OSError, AttributeError):
        return "unknown"
    query.argtypes, query.restype = [ctypes.c_int], ctypes.c_int
    code = query(MKL_CBWR_BRANCH)
    return MKL_BRANCHES.get(code, str(code))
