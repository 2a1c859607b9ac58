"""Defaults every layer shares, each defined once with its source: the pure core applies them,
the services, the Dagster config and the HTTP app offer them, so the default a user sees in
the Launchpad or /docs is the one the code applies. Imports nothing."""

# Seed 002: only faces of quality >= 0.5 are clustered; the same gate picks the faces that
# train a projection head and the faces the review queue asks about.
QUALITY_GATE = 0.5
MIN_CONFIDENCE = 0.5  # seeds 001/002: the detector's confidence threshold
MIN_FACE_SIZE = 20  # seed 002: minimum width and height of a face, in pixels
# Faces per ArcFace batch: measured on a 2-core CPU with w600k_mbf, 7.3 ms/face at 8-16, 8.2
# at 32, 10.3 one at a time (benchmarks/ingest.py notes); GPUs want larger batches (per run).
RECOGNITION_BATCH = 16
