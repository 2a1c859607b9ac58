"""Cluster ids that survive re-runs: last run's id where membership barely changed, else one
minted from the members.

A re-run must not rename every cluster a user was about to name, and a re-run on unchanged data
must give the same ids. Every fresh id comes from mint_cluster_id (sha1 of the sorted member
face ids, salted past the ids in use), whoever asks: a full run's matching
(stable_cluster_ids) or a refresh's new clusters (services/clusters.py). A retired id's
successor (successor_ids) is the cluster most of its members went to.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components

from face_assets.identity.clustering import NOISE

# Seed-style Jaccard bar for "the same cluster as last run": more than half the faces agree.
MIN_ID_OVERLAP = 0.5
# Prefix + 10 hex chars of sha1: short enough for a UI, collision-safe for one library.
CLUSTER_ID_PREFIX = "clu_"
CLUSTER_ID_HEX_CHARS = 10
# A split's sub-cluster id: the parent's id + "_sub_" + 6 hex chars of its members' sha1 (unique
# among one cluster's few parts, short beside the parent's id).
SUB_ID_HEX_CHARS = 6


def default_cluster_id(face_ids: Sequence[int] | set[int], salt: int = 0) -> str:
    """Cluster id derived from its members, so a re-run on the same data mints the same ids.

    ``salt`` only exists to step around the (astronomically rare) clash with an id in use.
    """
    key = ",".join(str(int(f)) for f in sorted(int(f) for f in face_ids))
    if salt:
        key += f"#{salt}"
    digest = hashlib.sha1(key.encode("ascii")).hexdigest()
    return CLUSTER_ID_PREFIX + digest[:CLUSTER_ID_HEX_CHARS]


def mint_cluster_id(face_ids: Sequence[int] | set[int], used: set[str]) -> str:
    """A fresh id for a cluster of these faces, never one in ``used`` (it is added there).

    default_cluster_id of the members, salted until it clashes with no id in use: a retired
    cluster's id may still be referenced by the user's labels.
    """
    cid, salt = default_cluster_id(face_ids), 0
    while cid in used:
        salt += 1
        cid = default_cluster_id(face_ids, salt)
    used.add(cid)
    return cid


def sub_cluster_id(parent: str, face_ids: Sequence[int] | set[int]) -> str:
    """Id of the part of cluster ``parent`` holding these faces after a user's split."""
    digest = default_cluster_id(face_ids)[len(CLUSTER_ID_PREFIX) :]
    return f"{parent}_sub_{digest[:SUB_ID_HEX_CHARS]}"


def stable_cluster_ids(
    previous: Mapping[str, set[int]],
    face_ids: Sequence[int] | np.ndarray,
    labels: np.ndarray,
    min_overlap: float = MIN_ID_OVERLAP,
) -> dict[int, str]:
    """Cluster id for every new label (noise excluded), reusing last run's ids where possible.

    New and previous clusters are matched one-to-one by maximum total Jaccard (Hungarian
    assignment), and a match is kept only if its Jaccard >= min_overlap; unmatched new clusters
    get mint_cluster_id, never an id of ``previous``. Previous clusters are first restricted to
    faces present in this run: a deleted photo is not evidence that the cluster changed, only
    faces that moved are.

    No clusters x clusters matrix: pairs are found from the faces themselves (sort + count), so
    the cost is about linear in the number of faces. Above 0.5 an eligible pair is the only one
    for both of its clusters (disjoint clusters cannot both hold more than half of a union); at
    exactly 0.5 or below a cluster may have several, and each group of linked candidates is
    solved by the Hungarian assignment on its sorted ids. (The tests check it against the dense
    assignment over the whole matrix.)
    """
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap must lie in (0, 1], got {min_overlap}")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    faces = np.asarray(face_ids, dtype=np.int64).reshape(-1)
    if faces.size != labels.size:
        raise ValueError(f"{faces.size} face ids for {labels.size} labels")
    clustered = labels != NOISE
    new_faces, new_labs = faces[clustered], labels[clustered]
    new_ids, new_sizes = np.unique(new_labs, return_counts=True)

    prev_names = sorted(previous)
    prev_face_list = [
        np.fromiter((int(f) for f in previous[p]), dtype=np.int64) for p in prev_names
    ]
    prev_faces = np.concatenate(prev_face_list) if prev_face_list else np.empty(0, np.int64)
    prev_of = np.repeat(np.arange(len(prev_names)), [f.size for f in prev_face_list])
    present = np.isin(prev_faces, faces)
    prev_faces, prev_of = prev_faces[present], prev_of[present]
    pair_keys = np.unique(prev_of * (faces.max(initial=0) + 1) + prev_faces)  # sets, deduplicated
    prev_faces = pair_keys % (faces.max(initial=0) + 1)
    prev_of = pair_keys // (faces.max(initial=0) + 1)
    prev_sizes = np.bincount(prev_of, minlength=len(prev_names))

    result: dict[int, str] = {}
    if new_ids.size and prev_faces.size:
        order = np.argsort(new_faces, kind="stable")
        sorted_faces = new_faces[order]
        pos = np.searchsorted(sorted_faces, prev_faces)
        pos = np.clip(pos, 0, max(sorted_faces.size - 1, 0))
        hit = sorted_faces[pos] == prev_faces
        new_code = np.searchsorted(new_ids, new_labs[order][pos[hit]])
        cells, inter = np.unique(new_code * len(prev_names) + prev_of[hit], return_counts=True)
        ni, pj = cells // len(prev_names), cells % len(prev_names)
        jac = inter / (new_sizes[ni] + prev_sizes[pj] - inter)
        ok = jac >= min_overlap
        ni, pj, jac = ni[ok], pj[ok], jac[ok]
        if ni.size:
            # Groups of linked candidates; almost always one pair each.
            n_new = new_ids.size
            graph = sparse.coo_matrix(
                (np.ones(ni.size), (ni, n_new + pj)), shape=(n_new + len(prev_names),) * 2
            )
            group = connected_components(graph, directed=False)[1][ni]
            for g in np.unique(group).tolist():
                sel = group == g
                rows_g, cols_g = np.unique(ni[sel]), np.unique(pj[sel])
                if rows_g.size == 1 and cols_g.size == 1:
                    result[int(new_ids[rows_g[0]])] = prev_names[int(cols_g[0])]
                    continue
                dense = np.zeros((rows_g.size, cols_g.size))
                dense[np.searchsorted(rows_g, ni[sel]), np.searchsorted(cols_g, pj[sel])] = jac[sel]
                r, c = linear_sum_assignment(dense, maximize=True)
                for i, j in zip(r.tolist(), c.tolist(), strict=True):
                    if dense[i, j] >= min_overlap:
                        result[int(new_ids[rows_g[i]])] = prev_names[int(cols_g[j])]

    used = set(previous) | set(result.values())
    unmatched = [lab for lab in new_ids.tolist() if lab not in result]
    if unmatched:
        order = np.lexsort((new_faces, new_labs))
        labs_sorted, faces_sorted = new_labs[order], new_faces[order]
        starts = np.searchsorted(labs_sorted, unmatched, side="left")
        ends = np.searchsorted(labs_sorted, unmatched, side="right")
        for lab, s0, s1 in zip(unmatched, starts.tolist(), ends.tolist(), strict=True):
            result[int(lab)] = mint_cluster_id(faces_sorted[s0:s1].tolist(), used)
    return result


def successor_ids(
    moves: Iterable[tuple[str | None, str | None]], retired: Collection[str]
) -> dict[str, str | None]:
    """Where each retired cluster went: the id most of its members hold after a run (None
    when they all fell out of clusters), from (cluster before, cluster after) per member.

    What still names a retired id (a named track's remembered cluster, which an undo gives
    back) follows its members instead of pointing at a cluster nobody is in. Ties go to the
    smallest id; a retired id no member came from is left out (nothing says where it went).
    """
    wanted = set(retired)
    went: dict[str, Counter] = {}
    for before, after in moves:
        if before in wanted:
            went.setdefault(before, Counter())[after] += 1
    successors: dict[str, str | None] = {}
    for old, counts in went.items():
        named = [(-n, cid) for cid, n in counts.items() if cid is not None]
        successors[old] = min(named)[1] if named else None
    return successors
