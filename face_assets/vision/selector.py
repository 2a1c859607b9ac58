"""`pack: auto`: the seed's memory-aware model selector, on measured figures.

The seed picked among three models by placeholder VRAM numbers (89 / 249 MB, "2000 MB free").
Here the candidates are the packs installed on this machine, their memory and speed are the
registry's measured figures (benchmarks/packs.py), and the free memory is what the device
reports: RAM (psutil) for the CPU, the driver's report (nvidia-smi) for a GPU. A pack whose
measured memory does not fit in MEMORY_HEADROOM of what is free is never chosen; a GPU whose
free memory cannot be read fails loudly (no silent CPU fallback). The choice and its reason
are returned as data so runs can log them and show them in metadata.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from face_assets.vision.packs import PACKS, ModelPack, pack_info

REQUIREMENTS = ("accuracy", "speed", "minimal_memory", "balanced")  # the seed's four
AUTO = "auto"  # the pack name that asks for the selector
MEMORY_HEADROOM = 0.5  # a pack may take at most half the free memory: the run needs the rest
# balanced: the most accurate pack that costs at most this share of the free memory, and runs
# at least BALANCED_MIN_SPEED_SHARE of the fastest candidate's faces/s.
BALANCED_MEMORY_SHARE = 0.1
BALANCED_MIN_SPEED_SHARE = 0.5


class NoPackFitsError(RuntimeError):
    """No installed pack fits in the memory free on the device."""


@dataclass(frozen=True)
class PackChoice:
    pack: str
    requirement: str
    device: str
    free_mb: float
    reason: str
    candidates: tuple[str, ...]

    def metadata(self) -> dict:
        return {
            "pack": self.pack,
            "requirement": self.requirement,
            "device": self.device,
            "free_mb": round(self.free_mb, 1),
            "reason": self.reason,
            "candidates": list(self.candidates),
        }


def _throughput(p: ModelPack) -> float:
    """Faces per second through detection and embedding one after the other."""
    if not p.detect_images_per_s or not p.embed_faces_per_s:
        return 0.0
    embed = p.embed_faces_per_s / (2 if p.flip_average else 1)  # a mirror per face
    return 1.0 / (1.0 / p.detect_images_per_s + 1.0 / embed)


def select_pack(
    requirement: str,
    free_mb: float,
    installed: Iterable[str],
    device: str = "cpu",
    commercial_only: bool = False,
) -> PackChoice:
    """The pack for a requirement among the installed ones, given the free memory (MB)."""
    if requirement not in REQUIREMENTS:
        raise ValueError(f"unknown requirement {requirement!r}; choose one of {REQUIREMENTS}")
    packs = [pack_info(n) for n in installed]
    measured = [p for p in packs if p.load_memory_mb and p.lfw_accuracy]
    if commercial_only:
        measured = [p for p in measured if p.commercial_use]
    budget = free_mb * MEMORY_HEADROOM
    fits = [p for p in measured if p.load_memory_mb <= budget]
    if not fits:
        needs = min((p.load_memory_mb for p in measured), default=None)
        raise NoPackFitsError(
            f"no installed pack fits in {free_mb:.0f} MB free on {device} (a pack may use"
            f" {MEMORY_HEADROOM:.0%} of it); the smallest measured needs {needs} MB;"
            f" installed and measured: {[p.name for p in measured]}"
        )
    if requirement == "accuracy":
        best = max(fits, key=lambda p: (p.lfw_accuracy, -p.load_memory_mb))
        why = f"highest LFW accuracy ({best.lfw_accuracy:.2%}) that fits"
    elif requirement == "speed":
        best = max(fits, key=_throughput)
        why = f"fastest ({_throughput(best):.1f} faces/s detect + embed) that fits"
    elif requirement == "minimal_memory":
        best = min(fits, key=lambda p: (p.load_memory_mb, -p.lfw_accuracy))
        why = f"smallest ({best.load_memory_mb:.0f} MB)"
    else:
        fastest = max(_throughput(p) for p in fits)
        light = [
            p
            for p in fits
            if p.load_memory_mb <= free_mb * BALANCED_MEMORY_SHARE
            and _throughput(p) >= BALANCED_MIN_SPEED_SHARE * fastest
        ]
        if light:
            best = max(light, key=lambda p: p.lfw_accuracy)
            why = (
                f"most accurate ({best.lfw_accuracy:.2%}) within {BALANCED_MEMORY_SHARE:.0%} of"
                f" free memory and {BALANCED_MIN_SPEED_SHARE:.0%} of the fastest speed"
            )
        else:
            best = min(fits, key=lambda p: p.load_memory_mb)
            why = "memory is tight: the smallest pack"
    reason = f"{why}; {best.load_memory_mb:.0f} MB of {free_mb:.0f} MB free on {device}"
    return PackChoice(best.name, requirement, device, free_mb, reason, tuple(p.name for p in fits))


def free_memory_mb(device: str = "cpu", device_id: int = 0) -> float:
    """Memory free on the device: available RAM for 'cpu', the NVIDIA driver's report for
    'cuda' (nvidia-smi); a GPU that cannot report fails rather than guessing."""
    if device == "cpu":
        import psutil

        return psutil.virtual_memory().available / 2**20
    if device != "cuda":
        raise ValueError(f"device {device!r}: 'cpu' or 'cuda'")
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise RuntimeError("asked to choose a pack for the GPU, but nvidia-smi is not installed")
    out = subprocess.run(
        [smi, "--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", str(device_id)],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[0])


def installed_packs(model_root: str | None = None) -> list[str]:
    """Packs whose weights are on this machine now (nothing is downloaded to find out)."""
    from face_assets.vision import models

    root = model_root or models.DEFAULT_MODEL_ROOT
    return [name for name in PACKS if models.pack_installed(name, root)]


def choose(requirement: str, device: str = "cpu", device_id: int = 0) -> PackChoice:
    """`pack: auto` resolved on this machine now."""
    return select_pack(requirement, free_memory_mb(device, device_id), installed_packs(), device)
