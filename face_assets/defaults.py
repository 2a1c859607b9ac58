"""Defaults every layer shares, each defined once with its source: the pure core applies them,
the services, the Dagster config and the HTTP app offer them, so the default a user sees in
the Launchpad or /docs is the one the code applies. Imports nothing."""

# Seed 002: only faces of quality >= 0.5 are clustered; the same gate picks the faces that
# train a projection head and the faces the review queue asks about.
QUALITY_GATE = 0.5
MIN_CONFIDENCE = 0.5  # seeds 001/002: the detector's confidence threshold
MIN_FACE_SIZE = 20  # seed 002: minimum width and height of a face, in pixels
BACKFILL_LIMIT = 1000  # seed 002: `faces backfill --limit`, photos per call
BACKFILL_OFFSET = 0  # seed 002: `faces backfill --offset`
# Faces per ArcFace batch: measured on a 2-core CPU with w600k_mbf, 7.3 ms/face at 8-16, 8.2
# at 32, 10.3 one at a time (benchmarks/ingest.py notes); GPUs want larger batches (per run).
RECOGNITION_BATCH = 16

# Seed 004 (Screenalytics faces harvest, faces_embed_sampling.yaml): gating and volume control
# of faces in videos; the names after HARVEST_ are the seed's config keys.
HARVEST_SAMPLE_INTERVAL = 24  # sample every Nth frame
HARVEST_MIN_QUALITY = 0.7
SEED_HARVEST_MIN_CONFIDENCE = 0.8  # the seed's value, set for RetinaFace (still accepted per run)
# Measured (benchmarks/video.py): SCRFD-500M scores clean faces 0.72-0.84; 0.8 finds 4/6, 0.5 6/6
HARVEST_MIN_CONFIDENCE = 0.5
HARVEST_MIN_FACE_SIZE = 64
HARVEST_MAX_BLUR = 100.0  # Laplacian variance threshold (lower = more blur)
HARVEST_CHECK_POSE_QUALITY = True
HARVEST_MAX_YAW_ANGLE = 45.0  # degrees
HARVEST_MAX_CROPS_PER_TRACK = 50
HARVEST_MAX_CROPS_PER_VIDEO = 5000  # the seed's max_crops_per_episode
HARVEST_SAMPLING_MODE = "uniform"
HARVEST_SAMPLING_MODES = ("uniform", "quality-weighted", "stratified")
HARVEST_THUMB_SIZE = 224
HARVEST_JPEG_QUALITY = 90
