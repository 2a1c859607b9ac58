"""Embedding: the pack's embedding of every face of the months that has none, from the stored
crops in model batches (the face_embeddings asset and the benchmarks call it)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from face_assets.defaults import RECOGNITION_BATCH
from face_assets.services import stored_crops
from face_assets.services.progress import Log
from face_assets.store import Store
from face_assets.store import faces as face_store
from face_assets.vision.models import FaceModels


@dataclass
class EmbeddingStats(stored_crops.CropPassStats):
    model_seconds: float = 0.0  # inside the model's embed calls (the rest is reading, storing)


def embed_faces(
    models: FaceModels,
    store: Store,
    months: Iterable[str],
    batch_size: int = RECOGNITION_BATCH,
    log: Log | None = None,
) -> EmbeddingStats:
    """The pack's embeddings for every face of the months that has none, in model batches."""
    stats = EmbeddingStats()
    unembedded = stored_crops.CropPass(
        verb="embed",
        asset="face_embeddings",
        pending=lambda conn, month: face_store.faces_without_embedding(conn, month, models.pack),
        crop_path=lambda face: face[1],
    )
    for found in stored_crops.months_crops_by_chunk(store, months, unembedded, stats, log):
        ids = [face_id for (face_id, _), _ in found]
        crops = [crop for _, crop in found]
        t0 = time.perf_counter()
        embeddings = models.embed(crops, batch_size=batch_size)
        stats.model_seconds += time.perf_counter() - t0
        with store.transaction() as conn:
            face_store.store_embeddings(conn, ids, models.pack, embeddings)
        stats.faces += len(ids)
    return stats
