"""The matching rule: which similarity, in which space, makes a face a known person.

One function decides it for every caller (the face_assignments asset, the "Is this X?" review
queue, the CLI and the HTTP app), so the queue's unsure band sits around the threshold the
assignments actually use: a caller's override, else the promoted projection head's calibrated
threshold, else the pack's default; with a promoted head faces and prototypes are compared
in the head's space (an override replaces the threshold only, not the space).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from face_assets.store import Store
from face_assets.store import heads as head_store
from face_assets.vision.packs import person_threshold, thresholds_help

RAW_SPACE = "none (raw ArcFace)"  # how metadata and the CLI name the space without a head
HEADS_KEPT = 4  # loaded checkpoints kept in memory (one promoted head per pack in practice)

__all__ = ["RAW_SPACE", "MatchingRule", "matching_rule", "thresholds_help"]


@dataclass(frozen=True)
class MatchingRule:
    """A pack's threshold and the space it applies in (a promoted head's, or raw)."""

    pack: str
    threshold: float  # cosine similarity to a prototype needed, in this rule's space
    source: str  # "override", "promoted head" or "pack" (the pack's default threshold)
    pack_threshold: float  # the pack's raw-space default (merge suggestions compare raw)
    head: str | None = None  # the promoted head's name ("head-12"); None = raw embeddings
    _project: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    @property
    def space(self) -> str:
        return self.head or RAW_SPACE

    @property
    def projector(self) -> Callable[[np.ndarray], np.ndarray] | None:
        return self._project

    def vectors(self, embeddings: np.ndarray) -> np.ndarray:
        """Raw pack embeddings (rows) in the space this rule compares in."""
        return embeddings if self._project is None else self._project(embeddings)

    def describe(self) -> dict:
        return {"threshold": self.threshold, "source": self.source, "space": self.space}


def matching_rule(
    store: Store, pack: str, device: str = "cpu", override: float | None = None
) -> MatchingRule:
    """The rule assignments use for this pack now. The head's checkpoint is read (and torch
    imported) only when vectors are first projected, and once per process (_loaded_head), so
    asking for the rule is cheap."""
    default = person_threshold(pack)
    with store.transaction() as conn:
        record = head_store.promoted(conn, pack)
    if record is None:
        if override is None:
            return MatchingRule(pack, default, "pack", default)
        return MatchingRule(pack, override, "override", default)
    checkpoint = store.home_path / record.checkpoint_path

    def project(embeddings: np.ndarray) -> np.ndarray:
        return _loaded_head(checkpoint, checkpoint.stat().st_mtime_ns).project(
            embeddings, device=device
        )

    threshold, source = (record.threshold, "promoted head") if override is None else (
        override, "override"
    )  # fmt: skip
    return MatchingRule(pack, threshold, source, default, record.name, project)


@lru_cache(maxsize=HEADS_KEPT)
def _loaded_head(checkpoint: Path, mtime_ns: int):
    """The head saved at `checkpoint`, read once per process (and again only if the file
    changes): every review-queue request and assignment run asks for the rule anew, and
    torch.load of a checkpoint per request would dominate the queue's cost."""
    from face_assets.identity import head_checkpoint

    return head_checkpoint.load_checkpoint(checkpoint)[0]
