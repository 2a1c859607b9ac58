"""Well separated synthetic people for the graph clustering tests (no lfw cache)."""

from __future__ import annotations

import numpy as np

from face_assets.identity import linkage

DIM = 64


def people(sizes: list[int], seed: int = 0, spread: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings of well separated people (same-person similarity ~0.9)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(sizes), DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    person = np.repeat(np.arange(len(sizes)), sizes)
    x = centres[person] + spread * rng.standard_normal((person.size, DIM)) / np.sqrt(DIM)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), person


def partition(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered by first appearance (noise stays -1), to compare partitions."""
    return linkage.final_labels(np.asarray(labels), 2)


def own_photos(n: int) -> np.ndarray:
    return np.arange(n)
