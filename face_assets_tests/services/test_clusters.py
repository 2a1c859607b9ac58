"""Clustering at library scale through the store: full runs, refreshes that touch only what
changed, the unchanged-input shortcut, and human decisions made while a run computes."""

from __future__ import annotations

import numpy as np
import pytest

from face_assets.identity import linkage
from face_assets.identity.metrics import bcubed_scores
from face_assets.identity.synthetic import synthetic_library
from face_assets.services import clusters
from face_assets.store import bulk
from face_assets.vision import packs

PACK = "buffalo_s"
N = 1500


@pytest.fixture
def library(store):
    """A synthetic library shaped like the real one (long-tailed people, several faces per
    photo), its last month held back to arrive later."""
    lib = synthetic_library(N, seed=3, n_months=40)
    last = lib.months == lib.months.max()
    return lib, last


def _load(store, lib, rows):
    with store.transaction() as conn:
        return bulk.add_library(conn, PACK, lib, rows)


def _labels(store):
    with store.transaction() as conn:
        rows = conn.execute("SELECT id, cluster_id FROM faces ORDER BY id").fetchall()
    return {f: c for f, c in rows}


def _partition(labels: dict) -> set[frozenset]:
    groups: dict = {}
    for face, cid in labels.items():
        if cid:
            groups.setdefault(cid, set()).add(face)
    return {frozenset(g) for g in groups.values()}


def test_full_run_clusters_like_the_graph_method_and_ignores_claimed_faces(store, library):
    lib, _ = library
    ids = _load(store, lib, np.ones(N, dtype=bool))
    stats = clusters.recluster(store, PACK)
    assert stats.mode == "full" and stats.faces == N
    assert stats.min_similarity == packs.cluster_bar(PACK, N)  # the pack's bar for N faces
    expected = linkage.cluster_graph(
        lib.embeddings, lib.photo_ids, min_similarity=stats.min_similarity
    )
    got = _labels(store)
    predicted = np.asarray([hash(got[int(f)]) if got[int(f)] else -1 for f in ids])
    precision, recall, f1 = bcubed_scores(lib.person_ids, predicted)
    assert f1 > 0.9 and precision > 0.95
    want = {frozenset(ids[expected == c].tolist()) for c in set(expected.tolist()) - {-1}}
    assert _partition(got) == want  # exactly the pure method's clusters
    # No cluster holds two faces of one photo.
    photo_of = dict(zip(ids.tolist(), lib.photo_ids.tolist(), strict=True))
    for group in _partition(got):
        assert len({photo_of[f] for f in group}) == len(group)


def test_unchanged_input_is_not_clustered_again(store, library):
    lib, _ = library
    _load(store, lib, np.ones(N, dtype=bool))
    first = clusters.recluster(store, PACK)
    before = _labels(store)
    again = clusters.recluster(store, PACK)
    assert again.mode == "unchanged" and _labels(store) == before
    assert again.clusters == first.clusters
    full = clusters.recluster(store, PACK, full=True)  # the weekly full run: same answer
    assert full.mode == "full" and _labels(store) == before


def test_a_new_month_joins_the_clusters_it_reaches_and_leaves_the_rest_alone(store, library):
    lib, last = library
    ids = _load(store, lib, ~last)
    clusters.recluster(store, PACK)
    before = _labels(store)
    new_ids = _load(store, lib, last)
    refresh = clusters.recluster(store, PACK)
    assert refresh.mode == "refresh"
    assert refresh.new_faces == int(last.sum())
    assert refresh.reclustered_faces < N // 2  # new faces and the clusters they reach
    after = _labels(store)
    # An old face changes cluster only when its cluster merged into one that new faces grew,
    # or when it was noise and joined one; every other cluster keeps its id and members.
    old_ids = set(before.values()) - {None}
    for face, cid in before.items():
        if after[face] != cid:
            assert cid is None or cid not in set(after.values())
            assert after[face] is not None
    reached = {after[int(f)] for f in new_ids} - {None}
    for cid in old_ids - reached:
        assert {f for f, c in after.items() if c == cid} == {
            f for f, c in before.items() if c == cid
        } or cid not in set(after.values())
    assert refresh.unchanged > 0 and refresh.unchanged >= refresh.clusters // 2
    assert refresh.grown > 0 and refresh.created > 0
    # The weekly full run re-cuts everything: the refresh is as good against the truth.
    truth = {f: int(lib.person_ids[i]) for i, f in enumerate(_load_order(ids, new_ids, last))}
    refreshed_f1 = _f1(after, truth)
    clusters.recluster(store, PACK, full=True)
    assert refreshed_f1 >= _f1(_labels(store), truth) - 0.01


def test_the_bar_rises_as_the_library_grows_and_a_step_reclusters_in_full(
    store, library, monkeypatch
):
    lib, last = library
    _load(store, lib, ~last)
    first = clusters.recluster(store, PACK)
    # A reference size that puts the library just below a step: half the new month crosses it.
    new_rows = np.flatnonzero(last)
    photos = np.unique(lib.photo_ids[new_rows])
    early = np.isin(lib.photo_ids[new_rows], photos[: photos.size // 2])  # whole photos
    grown = int(early.sum())
    ref = int((first.faces + grown) / packs.CLUSTER_BAR_STEP)
    monkeypatch.setattr(packs, "CLUSTER_BAR_REFERENCE_FACES", ref)
    level = clusters.recluster(store, PACK)
    assert level.mode == "full" and level.min_similarity == 0.35  # a new bar: a new scope
    assert clusters.recluster(store, PACK).mode == "unchanged"
    _load(store, lib, new_rows[early])
    step = clusters.recluster(store, PACK)
    assert step.faces >= ref * packs.CLUSTER_BAR_STEP > first.faces
    assert step.min_similarity == round(0.35 + 0.055 * np.log10(packs.CLUSTER_BAR_STEP), 4)
    # The bar moved: everything is re-cut, though the first run left a watermark at this bar.
    assert step.mode == "full"
    _load(store, lib, new_rows[~early])
    more = clusters.recluster(store, PACK)  # still within the step: a refresh, same bar
    assert more.mode == "refresh" and more.min_similarity == step.min_similarity
    # An explicit bar is the user's: it never moves with the library.
    fixed = clusters.recluster(store, PACK, clusters.ClusterParams(min_similarity=0.4))
    assert fixed.min_similarity == 0.4 and fixed.mode == "full"


def _load_order(old_ids, new_ids, last):
    """Face id of every library row (old rows were loaded first, then the last month's)."""
    out = np.empty(last.size, dtype=np.int64)
    out[~last], out[last] = old_ids, new_ids
    return out.tolist()


def _f1(labels: dict, truth: dict) -> float:
    faces = sorted(truth)
    predicted = [hash(labels[f]) if labels.get(f) else -1 for f in faces]
    return bcubed_scores([truth[f] for f in faces], predicted)[2]


def test_a_face_labelled_while_the_run_computes_keeps_the_human_decision(
    store, library, monkeypatch
):
    lib, _ = library
    ids = _load(store, lib, np.ones(N, dtype=bool))
    with store.transaction() as conn:
        person = conn.execute("INSERT INTO persons (name) VALUES ('P') RETURNING id").fetchone()[0]
    target = int(ids[0])
    original = linkage.cluster_graph

    def label_meanwhile(*args, **kwargs):
        with store.transaction() as conn:  # a human labels a face mid-run
            conn.execute(
                "UPDATE faces SET person_id = %s, assignment_method = 'human' WHERE id = %s",
                (person, target),
            )
        return original(*args, **kwargs)

    monkeypatch.setattr(linkage, "cluster_graph", label_meanwhile)
    clusters.recluster(store, PACK)
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT person_id, assignment_method, cluster_id FROM faces WHERE id = %s", (target,)
        ).fetchone()
    assert row == (person, "human", None)


def test_seed_methods_stay_selectable_and_refuse_large_libraries(store, library, monkeypatch):
    lib, _ = library
    _load(store, lib, np.ones(N, dtype=bool))
    stats = clusters.recluster(store, PACK, clusters.ClusterParams(method="dbscan"))
    assert stats.mode == "full" and stats.clusters > 0
    monkeypatch.setattr(clusters, "ALL_PAIRS_MAX_FACES", 1000)
    with pytest.raises(ValueError, match="would take hours"):
        clusters.recluster(store, PACK, clusters.ClusterParams(method="hdbscan"), full=True)
    with pytest.raises(ValueError, match="unknown method"):
        clusters.recluster(store, PACK, clusters.ClusterParams(method="kmeans"))


def test_naming_a_cluster_leaves_out_a_face_rejected_for_that_person(store, library):
    """A human's "not this person" holds when the face is clustered with that person."""
    from face_assets.services import cluster_naming

    lib, _ = library
    ids = _load(store, lib, np.ones(N, dtype=bool))[:3].tolist()
    with store.transaction() as conn:
        person = conn.execute("INSERT INTO persons (name) VALUES ('Ada') RETURNING id").fetchone()
        conn.execute("UPDATE faces SET cluster_id = 'clu_x' WHERE id = ANY(%s)", (ids,))
        conn.execute(
            "INSERT INTO face_rejections (face_id, person_id) VALUES (%s, %s)", (ids[0], person[0])
        )
    result = cluster_naming.label_cluster(store, "clu_x", "Ada", PACK)
    with store.transaction() as conn:
        owners = dict(
            conn.execute("SELECT id, person_id FROM faces WHERE id = ANY(%s)", (ids,)).fetchall()
        )
    assert result["faces"] == 2
    assert owners == {ids[0]: None, ids[1]: person[0], ids[2]: person[0]}


def test_a_refresh_reclusters_re_embedded_faces_and_drops_faces_that_left(store, library):
    """A face whose embedding was recomputed (re-detection) is new to the graph again; a face
    rescored below the quality bar leaves its cluster, in a refresh as in a full run."""
    lib, _ = library
    ids = _load(store, lib, np.ones(N, dtype=bool))
    clusters.recluster(store, PACK)
    before = _labels(store)
    clustered = [f for f, c in before.items() if c]
    reembedded, rescored = clustered[0], clustered[1]
    with store.transaction() as conn:
        vector = conn.execute(
            "DELETE FROM face_embeddings WHERE face_id = %s RETURNING embedding", (reembedded,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO face_embeddings (face_id, pack, embedding) VALUES (%s, %s, %s)",
            (reembedded, PACK, vector),
        )
        conn.execute("UPDATE faces SET quality = 0.1 WHERE id = %s", (rescored,))
    refresh = clusters.recluster(store, PACK)
    assert refresh.mode == "refresh" and refresh.new_faces == 1
    after = _labels(store)
    assert after[rescored] is None
    assert after[reembedded] == before[reembedded]  # same vector: back in the same cluster
    with store.transaction() as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM clustered_faces WHERE face_id = %s", (reembedded,)
            ).fetchone()[0]
            == 1
        )
    assert len(ids) == N


def test_max_faces_leaves_the_rest_for_the_next_run(store, library):
    """Seed 002's maxFaces: one run takes at most that many new faces; the next run takes the
    rest (it is not skipped as unchanged), and then the input is unchanged."""
    lib, _ = library
    ids = _load(store, lib, np.ones(N, dtype=bool))
    first = clusters.recluster(store, PACK, max_faces=500)
    assert (first.faces, first.new_faces, first.deferred) == (500, 500, N - 500)
    with store.transaction() as conn:
        done = {r[0] for r in conn.execute("SELECT face_id FROM clustered_faces")}
    assert done == set(sorted(ids.tolist())[:500])  # the earliest faces first
    second = clusters.recluster(store, PACK)
    assert second.mode != "unchanged" and second.deferred == 0 and second.faces == N
    assert second.new_faces == N - 500
    assert clusters.recluster(store, PACK).mode == "unchanged"
    with pytest.raises(ValueError, match="max_faces"):
        clusters.recluster(store, PACK, max_faces=0)


def _add_track(store, embedding) -> int:
    """One unassigned video track of this embedding (its clip registered as the store does)."""
    with store.transaction() as conn:
        video = conn.execute(
            "INSERT INTO videos (rel_path, byte_size, mtime_ns, taken_at, time_source, month,"
            " status) VALUES ('clips/a.mp4', 1, 1, '2020-01-01', 'mtime', '2020-01', 'ok')"
            " RETURNING id"
        ).fetchone()[0]
        return conn.execute(
            "INSERT INTO video_tracks (video_id, pack, track_index, first_frame, last_frame,"
            " face_count, embedding) VALUES (%s, %s, 0, 0, 10, 5, %s) RETURNING id",
            (video, PACK, np.asarray(embedding, dtype=np.float32)),
        ).fetchone()[0]


def test_a_track_is_weighed_only_against_the_clusters_its_nearest_faces_hold(
    store, library, monkeypatch
):
    """A track joins the photo cluster it matches best on average, and the run sums only the
    clusters among its nearest faces (an HNSW probe), never every cluster of the library."""
    from face_assets.store import track_clusters as track_cluster_store
    from face_assets.store.faces import vector_array

    lib, _ = library
    _load(store, lib, np.ones(N, dtype=bool))
    clusters.recluster(store, PACK)
    groups = _partition(_labels(store))
    by_face = {f: c for f, c in _labels(store).items() if c}
    biggest = max(groups, key=len)
    target = by_face[next(iter(biggest))]
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT e.embedding FROM face_embeddings e WHERE e.face_id = ANY(%s)",
            (sorted(biggest),),
        ).fetchall()
    mean = np.mean([vector_array(r[0]) for r in rows], axis=0)
    track = _add_track(store, mean / np.linalg.norm(mean))
    asked: list[list[str]] = []
    summed = track_cluster_store.photo_cluster_sums

    def spy(conn, pack, min_quality, dim, cluster_ids):
        asked.append(list(cluster_ids))
        return summed(conn, pack, min_quality, dim, cluster_ids)

    monkeypatch.setattr(track_cluster_store, "photo_cluster_sums", spy)
    stats = clusters.recluster(store, PACK)
    assert stats.mode == "unchanged" and stats.tracks == 1 and stats.tracks_joined == 1
    with store.transaction() as conn:
        joined = conn.execute(
            "SELECT cluster_id FROM video_tracks WHERE id = %s", (track,)
        ).fetchone()[0]
    assert joined == target
    (ids,) = asked
    assert target in ids and len(ids) < len(groups) // 4  # what the track reaches, not all


def test_two_passes_at_once_run_one_after_the_other(store, library):
    """Two clicks on "cluster" (or the API beside a Dagster run): the second pass waits for
    the first and then finds its input unchanged, instead of both clustering one snapshot."""
    from concurrent.futures import ThreadPoolExecutor

    lib, _ = library
    _load(store, lib, np.ones(N, dtype=bool))
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(clusters.recluster, store, PACK) for _ in range(2)]
        modes = sorted(run.result().mode for run in runs)
    assert modes == ["full", "unchanged"]
    with store.transaction() as conn:  # the lock is not left behind on a pooled connection
        held = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
    assert held[0] == 0
