"""Turning a device string from config into a torch.device, loudly.

A run configured for a GPU that silently trains on the CPU looks like a 50x performance
regression days later; failing at the start with what was asked and what exists is cheaper.
"""

from __future__ import annotations

import re

import torch

_DEVICE_SPEC = re.compile(r"^(?P<kind>cpu|cuda)(?::(?P<index>\d+))?$")


class DeviceUnavailableError(RuntimeError):
    """A well-formed device was requested but this machine (or this torch build) lacks it."""


def _torch_build() -> str:
    """Name the torch build, so an error shows whether the build or the machine lacks CUDA."""
    if torch.version.cuda is None:
        return f"torch {torch.__version__} build, no CUDA"
    return f"torch {torch.__version__} built for CUDA {torch.version.cuda}"


def resolve_torch_device(spec: str) -> torch.device:
    """Return the device named by ``spec`` ("cpu", "cuda" or "cuda:N"), never a substitute.

    Raises ValueError for anything else (a typo must not become a CPU run) and
    DeviceUnavailableError when CUDA or the requested index does not exist here.
    """
    match = _DEVICE_SPEC.match(spec.strip().lower()) if isinstance(spec, str) else None
    if match is None:
        raise ValueError(f"unsupported device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")
    kind, index = match["kind"], match["index"]
    if kind == "cpu":
        if index is not None:
            raise ValueError(f"unsupported device {spec!r}: use plain 'cpu'")
        return torch.device("cpu")

    if not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"{spec!r} requested but torch.cuda.is_available() is False ({_torch_build()})"
        )
    count = torch.cuda.device_count()
    ordinal = 0 if index is None else int(index)
    if ordinal >= count:
        raise DeviceUnavailableError(
            f"{spec!r} requested but only {count} CUDA device(s) exist "
            f"(valid: {', '.join(f'cuda:{i}' for i in range(count)) or 'none'}; {_torch_build()})"
        )
    return torch.device("cuda", ordinal)
