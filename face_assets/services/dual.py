"""Dual-mode clustering in one call (seed 002's `cluster-dual`): known persons claim their
faces first (prototypes from the human labels, then assignment under the matching rule), then
only the faces nobody claimed are clustered. The same steps the `refresh_identities` job runs
as assets, for the HTTP app's and the CLI's foreground calls."""

from __future__ import annotations

import time
from dataclasses import dataclass

from face_assets.services import clusters, identities, matching
from face_assets.store import Store, stats


@dataclass(frozen=True)
class DualResult:
    """Both phases' outcomes as their services answer them: the REST response and the CLI
    name them in seed 002's words (`faces_processed`, `unlabeled_faces`, ...) where they show."""

    assigned: identities.AssignmentStats  # phase 1: faces without a human label considered
    found: clusters.ClusterStats  # phase 2: the faces nobody claimed (deferred: past max_faces)
    rule: matching.MatchingRule  # the threshold phase 1 matched at, and where it came from
    seconds: float


def months_with_faces(store: Store) -> list[str]:
    with store.transaction() as conn:
        return [m["month"] for m in stats.month_summary(conn) if m["faces"]]


def dual_cluster(
    store: Store,
    pack: str,
    person_threshold: float | None = None,
    params: clusters.ClusterParams | None = None,
    max_faces: int | None = None,
    device: str = "cpu",
    margin: float | None = None,  # None: the pack's (vision/packs.py assign_margin)
) -> DualResult:
    """Phase 1 (supervised) over every month, then phase 2 (unsupervised) on the rest."""
    started = time.perf_counter()
    params = params or clusters.ClusterParams()
    params.check()  # a wrong method fails before any write
    identities.refresh_prototypes(store, pack)
    rule = matching.matching_rule(store, pack, device, override=person_threshold)
    assigned = identities.assign_months(store, pack, months_with_faces(store), rule, margin)
    found = clusters.recluster(store, pack, params, max_faces=max_faces)
    seconds = round(time.perf_counter() - started, 3)
    return DualResult(assigned, found, rule, seconds)
