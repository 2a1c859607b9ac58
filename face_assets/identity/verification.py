"""Verification metrics and the promotion gate for projection heads.

A head only replaces the incumbent (the promoted head, or raw ArcFace when none is) if it
verifies held-out persons measurably better; these helpers compute that evidence over all
face pairs and turn it into a decision whose reason carries the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from face_assets.identity import metrics

FAR_LEVELS = (1e-3, 1e-2)  # the operating points face verification is usually quoted at
DEFAULT_GATE_METRIC = "roc_auc"  # threshold-free, so defined even on small held-out sets
DEFAULT_MIN_GAIN = 0.005  # below this a held-out AUC difference is mostly sampling noise


def tar_key(far: float) -> str:
    """Metric name for TAR at a FAR level, e.g. 'tar_at_far_1e-3'."""
    return f"tar_at_far_{far:.0e}".replace("e-0", "e-")


def verification_metrics(embeddings: np.ndarray, labels: Sequence[Any]) -> dict[str, Any]:
    """ROC AUC and TAR@FAR over every pair of faces, with the pair counts behind them, in the
    flat shape checkpoints and the gate store (pairs scored by metrics.verification_scores).

    A TAR@FAR value is None when there are fewer than 1/FAR impostor pairs, because its
    threshold would then sit beyond the data; ``notes`` says so.
    """
    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray(labels)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"need embeddings (n, d) and n labels, got {x.shape} and {y.shape}")
    _, counts = np.unique(y, return_counts=True)
    n_g = int((counts * (counts - 1) // 2).sum())
    n_i = x.shape[0] * (x.shape[0] - 1) // 2 - n_g
    notes: list[str] = []
    result: dict[str, Any] = {
        "faces": int(x.shape[0]),
        "persons": len(counts),
        "genuine_pairs": n_g,
        "impostor_pairs": n_i,
        "roc_auc": None,
        **{tar_key(far): None for far in FAR_LEVELS},
    }
    if n_g == 0 or n_i == 0:
        notes.append(f"no metrics: {n_g} genuine and {n_i} impostor pairs, need both")
        return {**result, "notes": notes}
    scores = metrics.verification_scores(x, y.tolist(), FAR_LEVELS)
    result["roc_auc"] = scores["roc_auc"]
    for far in FAR_LEVELS:
        needed = math.ceil(1 / far)
        if n_i < needed:
            notes.append(
                f"{tar_key(far)} is None: {n_i} impostor pairs, need >= {needed} for FAR {far:g}"
            )
        else:
            result[tar_key(far)] = scores["tar_at_far"][far]
    return {**result, "notes": notes}


@dataclass(frozen=True)
class GateDecision:
    """Whether to promote a head, and a reason that can go straight into the run log."""

    promote: bool
    reason: str
    metric: str
    candidate_value: float | None
    incumbent_value: float | None
    gain: float | None
    min_gain: float


def gate_decision(
    candidate: dict[str, Any],
    incumbent: dict[str, Any],
    metric: str = DEFAULT_GATE_METRIC,
    min_gain: float = DEFAULT_MIN_GAIN,
) -> GateDecision:
    """Promote only when the candidate beats the incumbent by >= min_gain on the same pairs.

    The incumbent is the promoted head's metrics on the held-out persons, or the raw
    embeddings' when no head is promoted, so a head must beat doing nothing. Metrics from
    different pair sets are refused: a gain there would be an artefact of the data.
    """
    cand, inc = candidate.get(metric), incumbent.get(metric)

    def decided(promote: bool, reason: str, gain: float | None = None) -> GateDecision:
        return GateDecision(promote, reason, metric, cand, inc, gain, min_gain)

    if cand is None or inc is None:
        return decided(False, f"refuse: {metric} is undefined (candidate {cand}, incumbent {inc})")
    for count in ("genuine_pairs", "impostor_pairs"):
        if count in candidate and count in incumbent and candidate[count] != incumbent[count]:
            return decided(
                False,
                f"refuse: not comparable, candidate has {candidate[count]} {count} and "
                f"incumbent {incumbent[count]}; evaluate both on the same held-out faces",
            )
    gain = float(cand) - float(inc)
    pairs = ""
    if "genuine_pairs" in candidate and "impostor_pairs" in candidate:
        pairs = (
            f" on {candidate['genuine_pairs']} genuine / {candidate['impostor_pairs']} "
            "impostor held-out pairs"
        )
    if gain >= min_gain:
        return decided(
            True,
            f"promote: candidate {metric} {cand:.4f} beats incumbent {inc:.4f} by {gain:+.4f} "
            f"(>= min gain {min_gain:.4f}){pairs}",
            gain,
        )
    return decided(
        False,
        f"refuse: candidate {metric} {cand:.4f} vs incumbent {inc:.4f} is {gain:+.4f}, "
        f"below min gain {min_gain:.4f}{pairs}",
        gain,
    )
