"""Execution providers: which ONNX Runtime providers a run asked for, whether this machine
offers them, and the check that a loaded session really got them. ONNX Runtime quietly builds
a CPU session when CUDA libraries are missing; here that is an error, never a silent CPU run.
"""

from __future__ import annotations

PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "rocm": "ROCMExecutionProvider",  # seed 001: AMD GPUs, ROCm 6.x-7.0
    "migraphx": "MIGraphXExecutionProvider",  # seed 001: AMD GPUs, ROCm 7.1+
}
# Accelerators: asked for and missing is an error, never a silent CPU run (seed 001's AMD
# providers included).
GPU_PROVIDERS = frozenset(
    {
        "CUDAExecutionProvider",
        "TensorrtExecutionProvider",
        "ROCMExecutionProvider",
        "MIGraphXExecutionProvider",
    }
)


class ProviderUnavailableError(RuntimeError):
    """A requested execution provider cannot run here; never silently replaced by the CPU."""


def normalise_providers(providers: list[str] | tuple[str, ...]) -> list[str]:
    """Accept 'cuda'/'cpu'/'tensorrt' shorthands as well as ONNX Runtime's provider names."""
    names = [PROVIDER_ALIASES.get(p.strip().lower(), p.strip()) for p in providers if p.strip()]
    if not names:
        raise ValueError("at least one execution provider is required, e.g. ['cpu']")
    return names


def available_providers() -> list[str]:
    import onnxruntime

    return list(onnxruntime.get_available_providers())


def check_providers_available(requested: list[str]) -> None:
    """Fail before loading anything when ONNX Runtime cannot offer a requested provider."""
    available = available_providers()
    missing = [p for p in requested if p not in available]
    if not missing:
        return
    hint = ""
    if any(p in ("ROCMExecutionProvider", "MIGraphXExecutionProvider") for p in missing):
        hint = " AMD GPUs need ONNX Runtime built for ROCm or MIGraphX (seed 001)."
    elif any(p in GPU_PROVIDERS for p in missing):
        hint = (
            " The installed ONNX Runtime has no GPU support: install 'onnxruntime-gpu' and make"
            " sure the CPU 'onnxruntime' wheel is not installed after it (both ship the same"
            " module; see requirements/no-deps.txt)."
        )
    raise ProviderUnavailableError(
        f"requested execution provider(s) {missing} are not available; ONNX Runtime offers"
        f" {available}.{hint}"
    )


def provider_options(providers: list[str], device_id: int) -> list[dict]:
    return [{"device_id": str(device_id)} if p in GPU_PROVIDERS else {} for p in providers]


def session_options():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # Severity 3 (errors only): the MBF graph declares batch 1 and ORT warns on every batch.
    options.log_severity_level = 3
    return options


def verified_session(model: object, requested: list[str], role: str) -> object:
    got = list(model.session.get_providers())
    lost = [p for p in requested if p in GPU_PROVIDERS and p not in got]
    if lost:
        raise ProviderUnavailableError(
            f"the {role} session was asked for {requested} but ONNX Runtime gave it {got}:"
            f" {lost} failed to initialise (CUDA/cuDNN libraries missing or no device?)."
            " Refusing to fall back to the CPU silently; ask for ['cpu'] to run on the CPU."
        )
    return model
