"""Seed 002's identity verbs on a real store: the same service calls as the HTTP app and the
seed's output lines (what they refuse: test_cli_refusals.py)."""

from __future__ import annotations

import pytest

from face_assets.services import labels
from face_assets_tests.api.conftest import PACK, faces_of


@pytest.fixture
def run(cli_on_real_store):
    return cli_on_real_store


def test_seed_verbs_run_the_services_and_print_the_seeds_lines(real_store, run):
    labels.label_faces(real_store, faces_of(real_store, "kit_harington"), "Kit", PACK)
    code, out, _ = run("centroids")
    assert code == 0 and "Persons: 1" in out
    code, out, _ = run("cluster-dual", "--person-threshold", "0.4", "--unknown-min-size", "3")
    assert code == 0, out
    seed_lines = (
        "Phase 1 (Supervised):",
        "  - Faces processed:",
        "  - Persons matched:",
        "Phase 2 (Unsupervised):",
        "  - Clusters found:",
        "  - Noise (outliers):",
    )
    assert all(line in out for line in seed_lines), out
    code, out, _ = run("assign", "--since", "2000-01-01", "--threshold", "0.5")
    assert code == 0 and "Faces assigned:" in out and "Threshold: 0.5 (override" in out
    code, out, _ = run("cluster", "--min-cluster-size", "3", "--max-faces", "1000")
    assert code == 0 and "Clusters found:" in out
