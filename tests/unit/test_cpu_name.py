"""Runs record the CPU they trained on: under the same kernels, CPUs have still been seen to train
different models."""

from __future__ import annotations

import platform

from ratbehavior.cpu_kernels import cpu_name


def test_the_cpu_is_named_by_its_first_processor_with_family_and_model(tmp_path):
    """Virtual machines may mask the model name; vendor, family and model still tell the microarchitecture."""
    cpuinfo = tmp_path / "cpuinfo"
    first = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n"
    cpuinfo.write_text(first + "\nprocessor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: other\n")
    assert cpu_name(cpuinfo) == "AMD EPYC (AuthenticAMD family 25 model 1)"


def test_without_cpuinfo_the_cpu_is_named_by_the_platform(tmp_path):
    assert cpu_name(tmp_path / "absent") == (platform.processor() or platform.machine())
