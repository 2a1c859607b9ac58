"""Identities on real labelled faces in a real PostgreSQL: label -> prototypes -> assignment,
clusters, merge, split, unassign, forget, orphans, and the wrong-id errors."""

from __future__ import annotations

import warnings

import pytest
from dagster import RunConfig, materialize

from face_assets.definitions import build_definitions
from face_assets.defs.assets.identities import AssignmentConfig, ClusteringConfig
from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource
from face_assets.services import (
    cluster_naming,
    forgetting,
    identities,
    labels,
    maintenance,
    matching,
)
from face_assets.store import clusters as cluster_store
from face_assets.store import persons as person_store
from face_assets.store import prototypes as prototype_store
from face_assets_tests.api.conftest import all_rows, first_column
from face_assets_tests.defs.assets.conftest import GROUP_PHOTO
from face_assets_tests.defs.assets.helpers import store_resource

PACK = "buffalo_s"


def _rule(store, threshold):
    return matching.matching_rule(store, PACK, override=threshold)


def _defs_assets():
    return list(build_definitions().assets)


def _materialize(store, library_root, names, partition_key=None, run_config=None):
    from face_assets.defs.assets.faces import CHECKS as FACE_CHECKS
    from face_assets.defs.assets.identities import CHECKS as IDENTITY_CHECKS

    resources = {
        "face_models": FaceModelsResource(),
        "store": store_resource(store),
        "library": PhotoLibraryResource(root=str(library_root)),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = materialize(
            [*_defs_assets(), *FACE_CHECKS, *IDENTITY_CHECKS],
            selection=names,
            partition_key=partition_key,
            resources=resources,
            run_config=run_config,
        )
    assert result.success
    return result


def _months(store):
    with store.transaction() as conn:
        return [r[0] for r in conn.execute("SELECT DISTINCT month FROM faces ORDER BY month")]


def _group_photo_names(store) -> list[str | None]:
    """The person (None: nobody) of each face of the group photo."""
    return first_column(
        store,
        "SELECT p.name FROM faces f JOIN images i ON i.id = f.image_id"
        " LEFT JOIN persons p ON p.id = f.person_id WHERE i.rel_path = %s",
        (GROUP_PHOTO,),
    )


def _assign_months(store, threshold):
    """The assignment service over every month of faces, at this threshold and no margin."""
    for month in _months(store):
        identities.assign_month(store, PACK, month, _rule(store, threshold), margin=0.0)


def _labelled_faces(store):
    """{photo path: largest face id} for the identity photos (the ground truth faces)."""
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT i.rel_path, f.id FROM faces f JOIN images i ON i.id = f.image_id"
            " WHERE f.face_index = 0 AND i.rel_path NOT LIKE 'group/%%'"
        ).fetchall()
    return dict(rows)


def _person_of(store) -> dict[int, str | None]:
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT f.id, p.name FROM faces f LEFT JOIN persons p ON p.id = f.person_id"
        ).fetchall()
    return dict(rows)


def _assign_all(store, library_root, threshold=None):
    config = RunConfig({"face_assignments": AssignmentConfig(person_threshold=threshold)})
    _materialize(store, library_root, ["person_prototypes"])
    for month in _months(store):
        _materialize(store, library_root, ["face_assignments"], month, config)


def _label_seeds(store, faces):
    """A human labels the first photo of every person."""
    seeds = {path: fid for path, fid in faces.items() if path.split("/")[1].startswith("1.")}
    for path, face_id in seeds.items():
        labels.label_faces(store, [face_id], path.split("/")[0], PACK)
    return seeds


def test_label_then_prototypes_then_assignment_of_held_back_photos(real_store, real_library):
    faces = _labelled_faces(real_store)
    assert len(faces) == 59
    seeds = _label_seeds(real_store, faces)
    assert len(seeds) == 19
    _assign_all(real_store, real_library.root)

    got = _person_of(real_store)
    held_back = {path: fid for path, fid in faces.items() if path not in seeds}
    assigned = {path: got[fid] for path, fid in held_back.items() if got[fid] is not None}
    wrong = {path: who for path, who in assigned.items() if who != path.split("/")[0]}
    assert wrong == {}  # precision 1.0 at the default threshold and margin
    assert len(assigned) / len(held_back) >= 0.6, f"recall {len(assigned)}/{len(held_back)}"

    methods = all_rows(
        real_store,
        "SELECT assignment_method, count(*) FROM faces WHERE person_id IS NOT NULL GROUP BY 1",
    )
    assert sorted(_group_photo_names(real_store)) == ["kit_harington", "rose_leslie"]
    assert dict(methods)["human"] == 19

    # Re-running is idempotent: the same assignments, no duplicates.
    before = _person_of(real_store)
    _assign_all(real_store, real_library.root)
    assert _person_of(real_store) == before


def test_two_faces_of_one_photo_never_get_the_same_person(real_store):
    faces = _labelled_faces(real_store)
    labels.label_faces(real_store, [faces["kit_harington/1.jpeg"]], "Kit", PACK)
    _assign_months(real_store, 0.0)
    # Even at threshold 0, only the more similar face.
    assert _group_photo_names(real_store).count("Kit") == 1


def test_human_labels_are_never_overwritten(real_store):
    faces = _labelled_faces(real_store)
    labels.label_faces(real_store, [faces["angelina_jolie/1.jpg"]], "Angelina", PACK)
    labels.label_faces(real_store, [faces["angelina_jolie/2.jpg"]], "Somebody Else", PACK)
    _assign_months(real_store, 0.3)
    got = _person_of(real_store)
    assert got[faces["angelina_jolie/2.jpg"]] == "Somebody Else"
    assert got[faces["angelina_jolie/1.jpg"]] == "Angelina"


def test_clusters_on_real_faces_are_pure_and_stable(real_store, real_library):
    config = RunConfig({"face_clusters": ClusteringConfig(min_cluster_size=2, min_samples=1)})
    result = _materialize(real_store, real_library.root, ["face_clusters"], run_config=config)
    assert all(c.passed for c in result.get_asset_check_evaluations())
    faces = _labelled_faces(real_store)
    with real_store.transaction() as conn:
        cluster_of = dict(conn.execute("SELECT id, cluster_id FROM faces").fetchall())
    members: dict[str, set[str]] = {}
    for path, fid in faces.items():
        if cluster_of[fid]:
            members.setdefault(cluster_of[fid], set()).add(path.split("/")[0])
    assert len(members) >= 15
    assert all(len(people) == 1 for people in members.values()), members  # pure clusters

    _materialize(real_store, real_library.root, ["face_clusters"], run_config=config)
    with real_store.transaction() as conn:
        again = dict(conn.execute("SELECT id, cluster_id FROM faces").fetchall())
    assert again == cluster_of  # a re-run renames nothing

    # Label one cluster: the others keep their ids on the next run.
    labelled_cluster = sorted(members)[0]
    cluster_naming.label_cluster(real_store, labelled_cluster, "first person", PACK)
    _materialize(real_store, real_library.root, ["face_clusters"], run_config=config)
    with real_store.transaction() as conn:
        after = dict(conn.execute("SELECT id, cluster_id FROM faces").fetchall())
    kept = {fid: cid for fid, cid in cluster_of.items() if cid and cid != labelled_cluster}
    assert all(after[fid] == cid for fid, cid in kept.items())
    assert labelled_cluster not in set(after.values())


def test_merge_moves_faces_and_keeps_the_source_for_audit(real_store):
    faces = _labelled_faces(real_store)
    a = labels.label_faces(real_store, [faces["person_09/1.jpg"]], "Jo", PACK)
    b = labels.label_faces(
        real_store, [faces["person_09/2.jpg"], faces["person_09/3.jpg"]], "Joanna", PACK
    )
    result = labels.merge_persons(real_store, "joanna", "JO", PACK)
    assert result["faces_moved"] == 2
    with real_store.transaction() as conn:
        source = person_store.find_person(conn, b["person_id"])
        protos = prototype_store.prototypes(conn, PACK)
    assert (source.status, source.merged_into) == ("merged", a["person_id"])
    assert set(protos[1]) == {a["person_id"]}  # only the surviving person has prototypes
    assert list(_person_of(real_store).values()).count("Jo") == 3
    for month in _months(real_store):
        identities.assign_month(real_store, PACK, month, _rule(real_store, 0.3))
    assert "Joanna" not in _person_of(real_store).values()


def test_split_separates_a_mixed_cluster(real_store):
    faces = _labelled_faces(real_store)
    mixed = [faces[f"person_10/{k}.jpg"] for k in range(1, 5)] + [
        faces[f"person_02/{k}.jpg"] for k in range(1, 5)
    ]
    with real_store.transaction() as conn:
        cluster_store.set_cluster(conn, mixed, "clu_mixed")
    result = labels.split_cluster(real_store, "clu_mixed")
    assert len(result["sub_clusters"]) == 2
    with real_store.transaction() as conn:
        cluster_of = dict(
            conn.execute("SELECT id, cluster_id FROM faces WHERE id = ANY(%s)", (mixed,))
        )
    assert len({cluster_of[f] for f in mixed[:4]}) == 1
    assert len({cluster_of[f] for f in mixed[4:]}) == 1
    assert cluster_of[mixed[0]] != cluster_of[mixed[4]]
    assert all(c.startswith("clu_mixed_sub_") for c in cluster_of.values())


def test_unassign_is_remembered_by_assignment(real_store):
    faces = _labelled_faces(real_store)
    labels.label_faces(real_store, [faces["person_10/1.jpg"]], "Ten", PACK)
    _assign_months(real_store, 0.3)
    target = faces["person_10/2.jpg"]
    assert _person_of(real_store)[target] == "Ten"
    labels.unassign_face(real_store, target)
    _assign_months(real_store, 0.3)
    assert _person_of(real_store)[target] is None


def test_forget_deletes_biometric_data_for_good(real_store, real_library):
    faces = _labelled_faces(real_store)
    mine = [faces["rose_leslie/1.jpg"], faces["rose_leslie/2.jpg"]]
    labels.label_faces(real_store, mine, "Rose", PACK)
    with real_store.transaction() as conn:
        files = [
            p
            for row in conn.execute(
                "SELECT crop_path, thumb_path FROM faces WHERE id = ANY(%s)", (mine,)
            )
            for p in row
        ]
    assert all((real_store.media_root / p).exists() for p in files)
    result = forgetting.forget_person(real_store, "rose")
    assert result["faces_deleted"] == 2
    assert not any((real_store.media_root / p).exists() for p in files)
    with real_store.transaction() as conn:
        left = conn.execute(
            "SELECT (SELECT count(*) FROM faces WHERE id = ANY(%s)),"
            " (SELECT count(*) FROM face_embeddings WHERE face_id = ANY(%s)),"
            " (SELECT count(*) FROM persons WHERE lower(name) = 'rose'),"
            " (SELECT count(*) FROM person_prototypes)",
            (mine, mine),
        ).fetchone()
    assert left == (0, 0, 0, 0)
    # Re-detecting every month must not bring the forgotten faces back.
    config = RunConfig({"detected_faces": {"config": {"redetect": True}}})
    for month in _months(real_store):
        _materialize(real_store, real_library.root, ["detected_faces"], month, config)
    with real_store.transaction() as conn:
        rose = conn.execute(
            "SELECT count(*) FROM faces f JOIN images i ON i.id = f.image_id"
            " WHERE i.rel_path LIKE 'rose_leslie/%%'"
        ).fetchone()[0]
    assert rose == 0


def test_wrong_ids_give_clear_errors_and_change_nothing(real_store):
    faces = _labelled_faces(real_store)
    labels.label_faces(real_store, [faces["person_01/1.jpg"]], "One", PACK)

    def snapshot():
        with real_store.transaction() as conn:
            return (
                conn.execute("SELECT count(*) FROM label_events").fetchone()[0],
                conn.execute("SELECT id, name, status FROM persons ORDER BY id").fetchall(),
                conn.execute("SELECT count(*) FROM faces WHERE person_id IS NOT NULL").fetchone(),
            )

    before = snapshot()
    with pytest.raises(LookupError, match="no cluster"):
        cluster_naming.label_cluster(real_store, "clu_nope", "Nobody", PACK)
    with pytest.raises(LookupError, match="no person"):
        labels.merge_persons(real_store, "Nobody", "One", PACK)
    with pytest.raises(ValueError, match="itself"):
        labels.merge_persons(real_store, "one", "ONE", PACK)
    with pytest.raises(LookupError, match="no face"):
        labels.unassign_face(real_store, 10**9)
    with pytest.raises(ValueError, match="not assigned"):
        labels.unassign_face(real_store, faces["person_01/2.jpg"])
    with pytest.raises(LookupError, match="no person"):
        forgetting.forget_person(real_store, "Nobody")
    with pytest.raises(ValueError, match="empty"):
        labels.label_faces(real_store, [faces["person_01/2.jpg"]], "   ", PACK)
    with pytest.raises(LookupError, match="no face"):
        labels.label_faces(real_store, [faces["person_01/2.jpg"], 10**9], "Two", PACK)
    assert snapshot() == before


def test_find_orphans_reports_and_fixes(real_store, real_library):
    faces = _labelled_faces(real_store)
    face_id = faces["person_05/1.jpg"]
    with real_store.transaction() as conn:
        crop = conn.execute("SELECT crop_path FROM faces WHERE id = %s", (face_id,)).fetchone()[0]
        month = conn.execute("SELECT month FROM faces WHERE id = %s", (face_id,)).fetchone()[0]
    (real_store.media_root / crop).unlink()
    (real_store.media_root / "crops" / "stray.npy").write_bytes(b"x")
    in_flight = real_store.media_root / "crops" / ".tmp-being-written"  # a running detection's
    in_flight.write_bytes(b"x")
    found = maintenance.find_orphans(real_store, PACK)
    assert found["face_rows_without_files"] == 1
    assert found["files_without_face_rows"] == 1
    fixed = maintenance.find_orphans(real_store, PACK, fix=True)
    assert fixed["files_deleted"] == 1 and fixed["faces_queued_for_redetection"] == 1
    assert in_flight.exists()  # never deleted under a running detection
    _materialize(real_store, real_library.root, ["detected_faces"], month)
    assert (real_store.media_root / crop).exists()  # re-detected in place, same face row
    assert _labelled_faces(real_store)["person_05/1.jpg"] == face_id
    clean = maintenance.find_orphans(real_store, PACK)
    assert clean["face_rows_without_files"] == 0 and clean["files_without_face_rows"] == 0


def test_cli_label_persons_and_wrong_id(real_store, monkeypatch, capsys):
    from face_assets import cli

    monkeypatch.setenv("FACE_ASSETS_DATABASE_URL", real_store.database_url)
    monkeypatch.setenv("FACE_ASSETS_HOME", str(real_store.home_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    faces = _labelled_faces(real_store)
    with real_store.transaction() as conn:
        cluster_store.set_cluster(conn, [faces["person_12/1.jpg"], faces["person_12/2.jpg"]], "c1")
    assert cli.main(["clusters"]) == 0
    assert "c1" in capsys.readouterr().out
    assert cli.main(["label", "c1", "Twelve"]) == 0
    assert '"faces": 2' in capsys.readouterr().out
    assert cli.main(["persons"]) == 0
    assert "Twelve" in capsys.readouterr().out
    assert cli.main(["label", "c1", "Again"]) == 2  # named already: a conflict, not an overwrite
    assert "cluster 'c1' has no unlabelled faces any more" in capsys.readouterr().err
    assert cli.main(["label", "c_never", "Again"]) == 2
    assert "no cluster 'c_never'" in capsys.readouterr().err
    assert cli.main(["forget", "Twelve"]) == 2  # needs --yes


def test_hide_releases_auto_assignments_and_stops_new_ones(real_store):
    faces = _labelled_faces(real_store)
    labels.label_faces(real_store, [faces["person_02/1.jpg"]], "Two", PACK)
    _assign_months(real_store, 0.3)
    assert list(_person_of(real_store).values()).count("Two") > 1
    result = labels.hide_person(real_store, "two", True, PACK)
    assert result["auto_assignments_released"] >= 1
    _assign_months(real_store, 0.3)
    assert list(_person_of(real_store).values()).count("Two") == 1  # the human label stays
    with real_store.transaction() as conn:
        assert prototype_store.prototypes(conn, PACK)[0] == []
    with pytest.raises(ValueError, match="already hidden"):
        labels.hide_person(real_store, "two", True, PACK)
    labels.label_faces(real_store, [faces["person_03/1.jpg"]], "Three", PACK)
    with real_store.transaction() as conn:
        three_before = prototype_store.prototypes(conn, PACK)[0]
    labels.hide_person(real_store, "two", False, PACK)
    with real_store.transaction() as conn:
        ids, persons, _, _ = prototype_store.prototypes(conn, PACK)
    # Unhiding Two rebuilds Two's prototypes only: Three's rows are the same rows.
    assert set(three_before) <= set(ids) and len(set(persons)) == 2
    labels.hide_person(real_store, "three", True, PACK)
    with real_store.transaction() as conn:
        ids_after, persons_after, _, _ = prototype_store.prototypes(conn, PACK)
    assert set(ids_after) == {i for i, p in zip(ids, persons, strict=True) if p in persons_after}
    assert len(set(persons_after)) == 1  # Three's dropped, Two's untouched
    labels.hide_person(real_store, "three", False, PACK)
    labels.rename_person(real_store, "two", "Person Two")
    with pytest.raises(ValueError, match="already called"):
        labels.label_faces(real_store, [faces["person_03/1.jpg"]], "Three", PACK)
        labels.rename_person(real_store, "three", "person two")


def test_ingest_assigns_known_people_before_it_clusters(real_store, monkeypatch):
    """Dual mode in the CLI's identity run: a face a known person claims is never clustered."""
    from face_assets.cli import pipeline

    monkeypatch.setenv("FACE_ASSETS_DATABASE_URL", real_store.database_url)
    monkeypatch.setenv("FACE_ASSETS_HOME", str(real_store.home_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    faces = _labelled_faces(real_store)
    labels.label_faces(real_store, [faces["angelina_jolie/1.jpg"]], "Angelina", PACK)
    labels.label_faces(real_store, [faces["person_01/1.jpg"]], "One", PACK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.run_identities(_months(real_store))
    with real_store.transaction() as conn:
        auto, clustered_claimed, clusters = conn.execute(
            "SELECT count(*) FILTER (WHERE assignment_method = 'auto'),"
            " count(*) FILTER (WHERE person_id IS NOT NULL AND cluster_id IS NOT NULL),"
            " count(DISTINCT cluster_id) FROM faces"
        ).fetchone()
    assert auto >= 4  # the other photos of both people were claimed by them
    assert clusters >= 1  # the unknown people were still clustered
    assert clustered_claimed == 0
