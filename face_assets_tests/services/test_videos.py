"""Videos in the store: a month's clips registered and harvested once, tracks named by a
labelled photo, forgetting that removes video faces and holds against re-harvest, export."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest

from face_assets.defs.partitions import partition_of
from face_assets.services import (
    cluster_naming,
    exports,
    forgetting,
    labels,
    library_export,
    track_assignment,
    track_labels,
    video_harvest,
    video_registration,
)
from face_assets.services.identities import refresh_prototypes
from face_assets.store import track_labels as track_label_store
from face_assets.store import tracks as track_store
from face_assets.vision.harvest_rules import HarvestConfig
from face_assets_tests.api.conftest import all_rows, one_row
from face_assets_tests.vision import clips

PACK = "buffalo_s"
MONTH_TIME = 1_700_000_000  # 2023-11-14: the clips carry no container time, so the file time


def _library_with_clips(root, shared_data):
    folder = root / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    clips.scene_clip(folder / "scene.mp4", shared_data / "faces_real", 2.0, 3.0)
    shutil.copy(folder / "scene.mp4", folder / "broken.mov")
    clips.truncated_copy(folder / "scene.mp4", folder / "broken.mov")
    for name in ("scene.mp4", "broken.mov"):
        os.utime(folder / name, (MONTH_TIME, MONTH_TIME))
    return "2023-11"


def _counts(store):
    return one_row(
        store,
        "SELECT (SELECT count(*) FROM videos), (SELECT count(*) FROM video_tracks),"
        " (SELECT count(*) FROM video_faces)",
    )


def test_month_of_clips_tracks_labels_forget_and_export(
    real_store, real_library, shared_data, face_models, tmp_path
):
    month = _library_with_clips(real_library.root, shared_data)
    try:
        months = video_registration.register_videos(real_store, real_library.root, partition_of)
        assert months == {month: 2}
        config = HarvestConfig(sample_interval=12)
        stats = video_harvest.harvest_month(
            real_store, real_library.root, month, face_models, config
        )
        assert stats.harvested == 1 and dict(stats.rejected_videos) == {"truncated": 1}
        assert stats.tracks == 3 and stats.faces > 0
        first = _counts(real_store)

        # Re-running the month (registration and harvest) duplicates nothing, reads nothing.
        assert (
            video_registration.register_videos(real_store, real_library.root, partition_of)
            == months
        )
        again = video_harvest.harvest_month(
            real_store, real_library.root, month, face_models, config
        )
        assert again.unchanged == 1 and again.harvested == 0
        assert _counts(real_store) == first

        # A clip is found by id, else by library path; a given id is never traded for the path.
        video_id, clip_month = video_registration.video_month(real_store, None, "clips/scene.mp4")
        assert clip_month == month
        assert video_registration.video_month(real_store, video_id, None) == (video_id, month)
        with pytest.raises(LookupError):
            video_registration.video_month(real_store, video_id + 1000, "clips/scene.mp4")

        # One labelled photo of person A names the clip's first track (the whole track).
        with real_store.transaction() as conn:
            photo = conn.execute(
                "SELECT f.id FROM faces f JOIN images i ON i.id = f.image_id WHERE i.rel_path = %s",
                (f"{clips.PERSON_A[0]}/1.jpg",),
            ).fetchone()[0]
        labels.label_faces(real_store, [photo], "Alice", PACK)
        refresh_prototypes(real_store, PACK)
        assigned = track_assignment.assign_tracks(real_store, PACK)
        assert assigned["assigned"] >= 1
        with real_store.transaction() as conn:
            tracks = track_store.tracks_of_video(conn, "clips/scene.mp4", PACK)
        named = [t for t in tracks if t[5] == "Alice"]
        assert len(named) == 1 and named[0][2] == 0  # the track that opens the clip

        # Export: the seed's files, names only when asked; photos too.
        out = tmp_path / "export"
        summary = library_export.export_faces(
            real_store, out, PACK, video="clips/scene.mp4", save_crops=True, with_names=True
        )
        lines = [json.loads(x) for x in (out / "faces.jsonl").read_text().splitlines()]
        assert summary.faces == len(lines) == first[2] == np.load(out / "faces.npy").shape[0]
        assert {line["name"] for line in lines if line["frame_idx"] < 48} == {"Alice"}
        whole = library_export.export_faces(real_store, tmp_path / "all", PACK)
        rows = [json.loads(x) for x in (tmp_path / "all" / "faces.jsonl").read_text().splitlines()]
        assert whole.faces == len(rows) > first[2]
        assert any(r["track_id"] is None and r["frame_idx"] == 0 for r in rows)
        assert all("name" not in r for r in rows)

        # Forgetting Alice removes her video faces and crops; a re-harvest brings none back.
        gone = forgetting.forget_person(real_store, "Alice")
        assert gone["video_faces_deleted"] == named[0][4]
        after = _counts(real_store)
        assert after[1] == first[1] - 1 and after[2] == first[2] - named[0][4]
        media = list((real_store.media_root / "videos").rglob("*.jpg"))
        assert len(media) == after[2]
        again = video_harvest.harvest_month(
            real_store, real_library.root, month, face_models, HarvestConfig(sample_interval=8)
        )
        assert again.harvested == 1 and again.forgotten_dropped > 0
        with real_store.transaction() as conn:
            early = conn.execute(
                "SELECT count(*) FROM video_faces WHERE frame_idx < 48"
            ).fetchone()[0]
        assert early == 0  # other frames than the forgotten ones: the track stays forgotten
        library_export.export_faces(real_store, tmp_path / "after", PACK, video="clips/scene.mp4")
        exported = (tmp_path / "after" / "faces.jsonl").read_text().splitlines()
        assert all(json.loads(x)["frame_idx"] >= 48 for x in exported if x)
    finally:
        shutil.rmtree(real_library.root / "clips")


def test_export_verb_takes_one_scope():
    import pytest

    from face_assets.cli import build_parser

    args = build_parser().parse_args(["export", "out", "--month", "2023-11", "--save-crops"])
    assert (args.month, args.video, args.all, args.save_crops) == ("2023-11", None, False, True)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "out", "--month", "2023-11", "--all"])


def _track_rows(store):
    return all_rows(
        store,
        "SELECT t.id, t.first_frame, t.cluster_id, t.person_id, t.assignment_method"
        " FROM video_tracks t ORDER BY t.first_frame, t.id",
    )


def test_tracks_are_one_cluster_member_each_and_naming_the_cluster_names_the_track(
    real_store, real_library, shared_data, face_models
):
    from face_assets.services import clusters

    month = _library_with_clips(real_library.root, shared_data)
    try:
        video_registration.register_videos(real_store, real_library.root, partition_of)
        video_harvest.harvest_month(
            real_store, real_library.root, month, face_models, HarvestConfig()
        )
        stats = clusters.recluster(real_store, PACK, full=True)
        # A (alone), then B and C side by side: three tracks, three items, whatever their faces.
        assert stats.tracks == 3 and stats.tracks_joined + stats.track_clusters >= 2
        rows = _track_rows(real_store)
        a, b, c = rows
        assert all(r[2] for r in rows) and b[2] != c[2]  # seen together: never one cluster
        with real_store.transaction() as conn:
            photo_faces = conn.execute(
                "SELECT count(*) FROM faces WHERE cluster_id = %s", (a[2],)
            ).fetchone()[0]
        assert stats.tracks_joined == sum(1 for r in rows if r[2] in _photo_clusters(real_store))
        # Review: a track shows as its best frame, with the clip's path and the time in it.
        from face_assets.api.schemas import TrackOut
        from face_assets.services import views

        (card,) = views.cluster_tracks(real_store, b[2])
        out = TrackOut(**card).model_dump(by_alias=True)
        assert out["trackId"] == b[0] and out["video"] == "clips/scene.mp4"
        assert out["frameIdx"] >= b[1] and abs(out["timeS"] - out["frameIdx"] / clips.FPS) < 1e-3
        assert views.tracks_per_cluster(real_store, PACK)[b[2]] == 1
        listed, total = views.cluster_page(real_store, PACK, 1000, 0, 5)
        by_id = {r["cluster_id"]: r for r in listed}
        assert total == len(listed) and {r[2] for r in rows} <= set(by_id)  # tracks-only too
        assert sum(r["tracks"] for r in listed) == 3
        # Naming A's cluster names the whole track (and the photo faces with it).
        done = cluster_naming.label_cluster(real_store, a[2], "Alice", PACK)
        assert done["tracks"] == 1 and done["faces"] == photo_faces
        a2, b2, c2 = _track_rows(real_store)
        assert a2[3] == done["person_id"] and a2[4] == "human" and a2[2] is None
        assert b2[3] is None and c2[3] is None
        assert [t["track_id"] for t in views.person_tracks(real_store, a2[3])] == [a[0]]
        # The next run sees only the two unnamed tracks; photo clusters are the photos' own.
        again = clusters.recluster(real_store, PACK)
        assert again.tracks == 2 and again.clusters == stats.clusters - (photo_faces > 0)

        # "Not Alice" on the track: it leaves her and is never proposed to her again, neither by
        # assignment (her centroid is her photos and the track's faces match it) nor by naming
        # the cluster it lands in; a later explicit label of the track by a human wins.
        alice = done["person_id"]
        assert track_labels.reject_track(real_store, a[0], alice)["unassigned"] is True
        assert track_labels.reject_track(real_store, a[0], "Alice")["unassigned"] is False
        refresh_prototypes(real_store, PACK)
        track_assignment.assign_tracks(real_store, PACK, threshold=-1.0)  # any match would do
        assert all(r[3] != alice for r in _track_rows(real_store) if r[0] == a[0])
        clusters.recluster(real_store, PACK)
        cluster = next(r[2] for r in _track_rows(real_store) if r[0] == a[0])
        assert (
            cluster
            and cluster_naming.label_cluster(real_store, cluster, "Alice", PACK)["tracks"] == 0
        )
        track_labels.label_track(real_store, a[0], "Alice")
        assert next(r for r in _track_rows(real_store) if r[0] == a[0])[3:] == (alice, "human")
    finally:
        shutil.rmtree(real_library.root / "clips")


def _photo_clusters(store) -> set[str]:
    with store.transaction() as conn:
        rows = conn.execute("SELECT DISTINCT cluster_id FROM faces WHERE cluster_id IS NOT NULL")
        return {r[0] for r in rows.fetchall()}


def test_an_export_takes_its_width_from_the_pack_never_512(tmp_path):
    empty = exports.write_export(tmp_path / "empty", [], dim=128)
    assert empty.dim == 128 and np.load(tmp_path / "empty" / exports.FACES_NPY).shape == (0, 128)
    with pytest.raises(ValueError, match="width"):
        exports.write_export(tmp_path / "none", [])
    face = exports.ExportFace(
        face_id=1, track_id=None, frame_idx=0, bbox=(0, 0, 4, 4), landmarks=np.zeros((5, 2)),
        width=8, height=8, quality=0.5, embedding=np.ones(128), source_path="a.jpg",
    )  # fmt: skip
    one = exports.write_export(tmp_path / "one", [face])
    assert one.dim == 128 and np.load(tmp_path / "one" / exports.FACES_NPY).shape == (1, 128)
    with pytest.raises(ValueError, match="512"):
        exports.write_export(tmp_path / "wrong", [dataclasses.replace(face)], dim=512)


def test_month_stats_add_every_field():
    """The video_faces asset sums its months with add: a field it forgot would read 0."""
    one = video_harvest.VideoMonthStats(videos=2, harvested=1, unchanged=1, faces=5, tracks=2)
    one.rejected_videos.update({"no_stream": 1})
    one.rejection_reasons.update({"blur": 3})
    two = video_harvest.VideoMonthStats(videos=1, faces=4, frames_read=7, forgotten_dropped=1)
    two.rejection_reasons.update({"blur": 1, "pose": 2})
    one.add(two)
    assert dataclasses.astuple(one)[:3] == (3, 1, 1)
    assert (one.faces, one.tracks, one.frames_read, one.forgotten_dropped) == (9, 2, 7, 1)
    assert one.rejected_videos == {"no_stream": 1}
    assert one.rejection_reasons == {"blur": 4, "pose": 2}
    for field in dataclasses.fields(one):  # no field is left out of add
        blank = video_harvest.VideoMonthStats()
        value = getattr(two, field.name)
        blank.add(two)
        assert getattr(blank, field.name) == value


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def _axis(i: int, dim: int = 512) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i] = 1.0
    return v


def _track(store, clip: str, embedding) -> int:
    with store.transaction() as conn:
        video = conn.execute(
            "INSERT INTO videos (rel_path, byte_size, mtime_ns, taken_at, time_source, month,"
            " status) VALUES (%s, 1, 1, '2023-11-01', 'mtime', '2023-11', 'ok') RETURNING id",
            (clip,),
        ).fetchone()[0]
        return conn.execute(
            "INSERT INTO video_tracks (video_id, pack, track_index, first_frame, last_frame,"
            " face_count, embedding) VALUES (%s, %s, 0, 0, 9, 3, %s) RETURNING id",
            (video, PACK, _unit(embedding)),
        ).fetchone()[0]


def _centroid(store, person: int, embedding) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM person_prototypes WHERE person_id = %s", (person,))
        conn.execute(
            "INSERT INTO person_prototypes (person_id, pack, role, embedding)"
            " VALUES (%s, %s, 'centroid', %s)",
            (person, PACK, _unit(embedding)),
        )


def _holders(store) -> dict[int, tuple]:
    with store.transaction() as conn:
        rows = conn.execute("SELECT id, person_id, assignment_method FROM video_tracks").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_assignment_matches_new_tracks_and_writes_only_what_changed(store, monkeypatch):
    """A run with nothing new matches and writes nothing; a new clip's track alone is matched;
    a human's rejection or label re-matches all, and neither is ever overwritten; a moved
    centroid releases the machine label it no longer supports."""
    with store.transaction() as conn:
        alice, bob = (
            conn.execute("INSERT INTO persons (name) VALUES (%s) RETURNING id", (n,)).fetchone()[0]
            for n in ("Alice", "Bob")
        )
    _centroid(store, alice, _axis(0))
    _centroid(store, bob, _axis(1))
    t1 = _track(store, "a.mp4", _axis(0) + 0.1 * _axis(2))
    t2 = _track(store, "b.mp4", _axis(1) + 0.1 * _axis(2))
    written: list[list] = []
    real_write = track_label_store.assign_tracks

    def spy(conn, rows):
        written.append(list(rows))
        return real_write(conn, rows)

    monkeypatch.setattr(track_label_store, "assign_tracks", spy)
    first = track_assignment.assign_tracks(store, PACK, threshold=0.5)
    assert first["tracks"] == 2 and first["assigned"] == 2 and first["changed"] == 2
    assert _holders(store) == {t1: (alice, "auto"), t2: (bob, "auto")}
    again = track_assignment.assign_tracks(store, PACK, threshold=0.5)
    assert again["tracks"] == 0 and again["changed"] == 0 and written[-1] == []
    t3 = _track(store, "c.mp4", _axis(0) + 0.2 * _axis(3))
    new = track_assignment.assign_tracks(store, PACK, threshold=0.5)
    assert new["tracks"] == 1 and written[-1] == [(t3, alice)]
    # A human's "not Bob" on t2 and "Bob" on t3: every track is matched again, and the machine
    # writes nothing over either decision.
    track_labels.reject_track(store, t2, bob)
    with store.transaction() as conn:
        track_label_store.label_track(conn, t3, bob)
    after = track_assignment.assign_tracks(store, PACK, threshold=0.5)
    assert after["tracks"] == 2 and written[-1] == []
    assert _holders(store) == {t1: (alice, "auto"), t2: (None, None), t3: (bob, "human")}
    # Alice's centroid moves away from t1: its machine label is released, nothing else moves.
    _centroid(store, alice, _axis(5))
    moved = track_assignment.assign_tracks(store, PACK, threshold=0.5)
    assert moved["changed"] == 1 and written[-1] == []
    assert _holders(store) == {t1: (None, None), t2: (None, None), t3: (bob, "human")}


def _tracks_by_place(store) -> dict[str, tuple]:
    """The clip's tracks by where they are: 'a' opens the clip, then 'b' left and 'c' right;
    each (id, cluster, person, method, rejected persons)."""
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT t.id, t.first_frame, avg(f.bbox[1]), t.cluster_id, t.person_id,"
            " t.assignment_method, ARRAY(SELECT r.person_id FROM video_track_rejections r"
            " WHERE r.track_id = t.id ORDER BY 1) FROM video_tracks t"
            " JOIN video_faces f ON f.track_id = t.id GROUP BY t.id ORDER BY t.first_frame, 3"
        ).fetchall()
    assert len(rows) == 3 and rows[0][1] < rows[1][1] == rows[2][1], rows
    return {k: (r[0], r[3], r[4], r[5], list(r[6])) for k, r in zip("abc", rows, strict=True)}


def test_a_reharvest_at_another_interval_keeps_what_humans_decided(
    real_store, real_library, shared_data, face_models
):
    """Label a track, reject another, let clustering place them; re-harvest the clip every 8th
    frame instead of every 12th: new tracks, and every decision holds on the track that shows
    the same face. A config that finds no face for them reports what it could not carry."""
    from face_assets.services import clusters, review_queue

    month = _library_with_clips(real_library.root, shared_data)
    try:
        video_registration.register_videos(real_store, real_library.root, partition_of)
        video_harvest.harvest_month(
            real_store, real_library.root, month, face_models, HarvestConfig(sample_interval=12)
        )
        clusters.recluster(real_store, PACK, full=True)
        before = _tracks_by_place(real_store)
        named_from = before["a"][1]
        assert named_from  # clustering placed A before it was named
        alice = track_labels.label_track(real_store, before["a"][0], "Alice")["person_id"]
        track_labels.reject_track(real_store, before["b"][0], alice)  # "B is not Alice"
        before = _tracks_by_place(real_store)
        assert before["b"][1] and before["c"][1]  # both in a cluster, A named (in none)

        stats = video_harvest.harvest_month(
            real_store, real_library.root, month, face_models, HarvestConfig(sample_interval=8)
        )
        assert stats.harvested == 1 and stats.tracks == 3
        assert (stats.labels_carried, stats.rejections_carried, stats.clusters_carried) == (1, 1, 2)
        assert not stats.labels_unmatched and stats.rejections_unmatched == 0
        after = _tracks_by_place(real_store)
        assert not {t[0] for t in after.values()} & {t[0] for t in before.values()}  # new tracks
        assert after["a"][1:] == (None, alice, "human", [])
        assert after["b"][1:] == (before["b"][1], None, None, [alice])
        assert after["c"][1:] == (before["c"][1], None, None, [])
        # The decisions act: no machine match gives B to Alice, even at any similarity.
        refresh_prototypes(real_store, PACK)
        track_assignment.assign_tracks(real_store, PACK, threshold=-1.0)
        now = _tracks_by_place(real_store)
        assert now["a"][2:4] == (alice, "human") and now["b"][2] != alice
        # The name carried, the cluster it was named from too: taking it back puts the new
        # track where the old one was.
        yes = review_queue.Reply("yes", alice, track_id=now["a"][0])
        assert review_queue.undo_answer(real_store, PACK, yes) == {"undone": True}
        assert _tracks_by_place(real_store)["a"][1:4] == (named_from, None, None)
        track_labels.label_track(real_store, now["a"][0], "Alice")

        # A config that keeps no face: nothing continues the old tracks, and the run says so.
        gone = video_harvest.harvest_month(
            real_store, real_library.root, month, face_models, HarvestConfig(min_quality=1.0)
        )
        assert gone.harvested == 1 and gone.tracks == 0
        assert gone.labels_unmatched == {alice: 1} and gone.rejections_unmatched == 1
    finally:
        shutil.rmtree(real_library.root / "clips")


def test_a_decision_made_while_its_clip_is_reharvested_waits_and_is_refused_not_lost(store):
    """A re-harvest reads the clip's tracks, matches and replaces them in one transaction, the
    old tracks locked: a human's label or rejection of one of them meanwhile waits, then finds
    the track gone and says so (LookupError: the API's 404), never landing on a deleted row or
    vanishing after a reply of success."""
    import threading
    import time

    from face_assets.store import video_harvests as harvest_store

    track = _track(store, "race.mp4", _axis(0))
    with store.transaction() as conn:
        video = conn.execute("SELECT video_id FROM video_tracks WHERE id = %s", (track,))
        video = video.fetchone()[0]
        bob = conn.execute("INSERT INTO persons (name) VALUES ('Bob') RETURNING id").fetchone()[0]
    outcomes: dict[str, object] = {}

    def attempt(name, call):
        try:
            outcomes[name] = call()
        except LookupError as exc:
            outcomes[name] = exc

    calls = {
        "label": lambda: track_labels.label_track(store, track, "Al"),
        "reject": lambda: track_labels.reject_track(store, track, bob),
    }
    waiting = [threading.Thread(target=attempt, args=item) for item in calls.items()]
    with store.transaction() as conn:
        assert [t.track_id for t in harvest_store.old_tracks(conn, video, PACK)] == []  # no faces
        for thread in waiting:
            thread.start()
        time.sleep(1.0)
        assert all(thread.is_alive() for thread in waiting)  # both wait for the re-harvest
        harvest_store.replace_harvest(conn, video, PACK, {"pack": PACK}, [], {}, 0, False)
    for thread in waiting:
        thread.join(30)
    assert isinstance(outcomes["label"], LookupError) and isinstance(
        outcomes["reject"], LookupError
    )
    with store.transaction() as conn:
        assert conn.execute("SELECT count(*) FROM persons WHERE name = 'Al'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM video_track_rejections").fetchone()[0] == 0


def test_a_named_tracks_remembered_cluster_follows_its_peers_when_a_run_retires_it(store):
    """Two tracks of one person form a cluster of tracks; the queue's yes names one, so the
    next run re-mints the other's cluster (its members changed) and retires the old id. The
    named track remembers the successor, so undoing the yes puts it back beside its peer, not
    alone in a cluster nobody else is in."""
    from face_assets.services import clusters, review_queue
    from face_assets.store import track_labels as track_label_store

    near = _axis(0) + 0.1 * _axis(1)
    track, peer = _track(store, "named.mp4", _axis(0)), _track(store, "peer.mp4", near)
    stranger = _track(store, "stranger.mp4", _axis(5))

    def clusters_of() -> dict[int, str | None]:
        return dict(all_rows(store, "SELECT id, cluster_id FROM video_tracks"))

    first = clusters.recluster(store, PACK, full=True)
    assert first.tracks == 3 and first.track_clusters == 2
    before = clusters_of()
    assert before[track] == before[peer] != before[stranger]
    with store.transaction() as conn:
        alice = conn.execute("INSERT INTO persons (name) VALUES ('Alice') RETURNING id")
        alice = alice.fetchone()[0]
    review_queue.answer_track(store, "yes", alice, track)
    clusters.recluster(store, PACK)
    after = clusters_of()
    assert after[track] is None and after[peer] != before[peer]  # re-minted: one member left
    assert after[stranger] == before[stranger]  # unchanged members, same id: not touched
    with store.transaction() as conn:
        assert track_label_store.remembered_clusters(conn, PACK) == [after[peer]]
    yes = review_queue.Reply("yes", alice, track_id=track)
    assert review_queue.undo_answer(store, PACK, yes) == {"undone": True}
    assert clusters_of()[track] == after[peer]


def test_naming_and_rejecting_a_track_each_log_one_label_event_with_ids_only(store):
    """The audit log is complete and the person_labels data version moves on a track decision,
    as on a face's; the event holds the person's and the track's ids, never the name."""
    from face_assets.store import label_events as event_store

    track = _track(store, "log.mp4", _axis(0))

    def events() -> tuple[str, list[tuple]]:
        with store.transaction() as conn:
            rows = conn.execute(
                "SELECT operation, person_id, cluster_id, face_count, detail FROM label_events"
                " ORDER BY id"
            ).fetchall()
            return event_store.labels_version(conn), rows

    before, none = events()
    assert none == []
    named = track_labels.label_track(store, track, "Alice")
    alice = named["person_id"]
    labelled, rows = events()
    assert labelled != before
    assert rows == [("label_track", alice, None, 0, {"track": track})]
    assert track_labels.reject_track(store, track, alice)["unassigned"] is True
    rejected, rows = events()
    assert rejected != labelled and len(rows) == 2
    assert rows[1] == ("reject_track", alice, None, 0, {"track": track, "unassigned": True})
    assert "Alice" not in json.dumps([r[4] for r in rows])


def test_undoing_a_tracks_yes_gives_it_back_its_cluster_place(store):
    """The queue's yes names the track and takes it out of its cluster; undoing the yes leaves
    it unassigned and back in that cluster (not in none until the next clustering run), as
    undoing a cluster's naming does for its tracks."""
    from face_assets.services import review_queue
    from face_assets.store import track_clusters

    track, other = _track(store, "undo.mp4", _axis(0)), _track(store, "stays.mp4", _axis(1))
    with store.transaction() as conn:
        track_clusters.set_track_clusters(conn, PACK, [(track, "c-7"), (other, "c-8")])
        alice = conn.execute("INSERT INTO persons (name) VALUES ('Alice') RETURNING id")
        alice = alice.fetchone()[0]

    def place(track_id: int) -> tuple:
        return one_row(
            store,
            "SELECT person_id, assignment_method, cluster_id FROM video_tracks WHERE id = %s",
            (track_id,),
        )

    assert review_queue.answer_track(store, "yes", alice, track)["operation"] == "label_track"
    assert place(track) == (alice, "human", None)
    track_labels.label_track(store, track, "Alice")  # named again: still its first cluster
    yes = review_queue.Reply("yes", alice, track_id=track)
    undone = review_queue.undo_answer(store, PACK, yes)
    assert undone == {"undone": True}
    assert place(track) == (None, None, "c-7") and place(other) == (None, None, "c-8")
    # Named again and rejected ("not Alice"): the remembered place goes with the label, so a
    # later undo of a yes finds nothing of hers to take back.
    review_queue.answer_track(store, "yes", alice, track)
    track_labels.reject_track(store, track, alice)
    assert review_queue.undo_answer(store, PACK, yes) == {"undone": False}
    assert place(track) == (None, None, None)
