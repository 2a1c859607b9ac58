"""The projection head's checkpoint file: one trained head and its provenance on disk.

A checkpoint outlives the process that trained it: training writes one per head, and matching,
forgetting and the benchmarks read it back later, possibly in another process. So the format
is kept to plain tensors, numbers, strings, lists and dicts: torch.load(weights_only=True) can
read it without unpickling arbitrary classes, and the dataclasses of identity/projection.py are
rebuilt from those plain parts. Non-plain metadata is refused when saving, not discovered as an
unreadable file later. A file is written beside its target and renamed into place, so a crash
mid-write never leaves a truncated checkpoint. The layout is named (CHECKPOINT_FORMAT), so a
file of another layout is refused by name. Pure: no Dagster and no SQL.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from face_assets.identity.projection import EpochStats, TrainedHead, TrainingConfig

CHECKPOINT_FORMAT = "face_assets.projection_head/1"  # bump when the checkpoint layout changes


def _is_plain(value: Any) -> bool:
    """True for what torch.load(weights_only=True) can read back: no pickled classes."""
    if value is None or isinstance(value, bool | int | float | str | torch.Tensor):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str | int) and _is_plain(v) for k, v in value.items())
    return False


def save_checkpoint(head: TrainedHead, path: str | os.PathLike[str], metadata: dict) -> None:
    """Write the head and its provenance as plain tensors and dicts, atomically.

    Plain data lets load_checkpoint use weights_only=True (no arbitrary unpickling). The
    caller supplies what only it knows (embedding pack, metrics); epoch, losses, persons used
    and created time are filled in unless given. Non-plain metadata is refused here, at save
    time, rather than discovered as an unreadable file at load time.
    """
    meta = {
        "epoch": head.history[-1].epoch if head.history else 0,
        "losses": [e.loss for e in head.history],
        "val_losses": [e.val_loss for e in head.history],
        "persons_used": list(head.persons_used),
        "created_at": datetime.now(UTC).isoformat(),
        **metadata,
    }
    if not _is_plain(meta):
        raise TypeError("checkpoint metadata must hold only None/bool/int/float/str/lists/dicts")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in head.state_dict.items()},
        "config": asdict(head.config),
        "history": [asdict(e) for e in head.history],
        "persons_used": list(head.persons_used),
        "dims": {"in": head.in_dim, "hidden": head.hidden_dim, "out": head.out_dim},
        "metadata": meta,
    }
    if not _is_plain(payload):
        raise TypeError("persons_used must hold only str/int labels to be saved")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)  # a crash mid-write never leaves a truncated checkpoint


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[TrainedHead, dict]:
    """Read a checkpoint written by save_checkpoint; refuses other layouts by name."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint (found {found!r})")
    dims = payload["dims"]
    head = TrainedHead(
        state_dict=payload["state_dict"],
        config=TrainingConfig(**payload["config"]),
        history=[EpochStats(**e) for e in payload["history"]],
        persons_used=list(payload["persons_used"]),
        in_dim=dims["in"],
        out_dim=dims["out"],
        hidden_dim=dims["hidden"],
    )
    return head, payload["metadata"]
