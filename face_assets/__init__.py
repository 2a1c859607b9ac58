"""face_assets: a Dagster code location that turns a photo library into a face-identity graph."""
