"""Pure vision (no Dagster, no SQL): decoding, detection, alignment, quality, model packs."""
