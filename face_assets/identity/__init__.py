"""Pure identity maths (no Dagster, no SQL): neighbours, clustering, assignment, heads."""
