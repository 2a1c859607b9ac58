"""Switching a library's pack keeps every name: label people with buffalo_s, repack to the
permissive pack and the same people are found on held-back photos; switch back and nothing
is lost or duplicated."""

from __future__ import annotations

from face_assets.services import labels, repack
from face_assets.vision.models import load_face_models
from face_assets.vision.packs import PERMISSIVE_PACK
from face_assets_tests.api.conftest import all_rows, one_row
from face_assets_tests.defs.assets.helpers import run_months
from face_assets_tests.defs.assets.test_permissive_pack import MONTH, _library


def _faces(store, pack):
    """{photo: (face id, person name, method)} of each photo's largest face in a pack."""
    rows = all_rows(
        store,
        "SELECT i.rel_path, f.id, p.name, f.assignment_method FROM faces f"
        " JOIN images i ON i.id = f.image_id LEFT JOIN persons p ON p.id = f.person_id"
        " WHERE f.pack = %s AND f.face_index = 0",
        (pack,),
    )
    return {r[0]: r[1:] for r in rows}


def _counts(store):
    return one_row(
        store,
        "SELECT (SELECT count(*) FROM persons), (SELECT count(*) FROM faces),"
        " (SELECT count(DISTINCT pack) FROM faces), (SELECT count(*) FROM face_embeddings)",
    )


def test_repack_keeps_labels_and_switching_back_loses_nothing(store, tmp_path, shared_data):
    root = _library(tmp_path, shared_data)
    run_months(store, root, [MONTH])
    before = _faces(store, "buffalo_s")
    assert len(before) == 9
    for path, (face_id, _, _) in before.items():
        if path.endswith("/1.jpg"):
            labels.label_faces(store, [face_id], path.split("/")[0], "buffalo_s")
    persons, faces, _, _ = _counts(store)
    assert persons == 3

    lines: list[str] = []
    there = repack.repack(
        store, root, load_face_models(PERMISSIVE_PACK, ("cpu",)), "buffalo_s", log=lines.append
    )
    assert there.labels_carried == 3 and there.decisions_not_found == []
    assert any("month 2024-03 (1/1)" in line for line in lines)  # progress per month
    after = _faces(store, PERMISSIVE_PACK)
    assert len(after) == 9
    humans = {p: name for p, (_, name, how) in after.items() if how == "human"}
    assert humans == {p: p.split("/")[0] for p in before if p.endswith("/1.jpg")}
    found = {p: name for p, (_, name, how) in after.items() if how == "auto"}
    assert all(name == p.split("/")[0] for p, name in found.items()) and len(found) >= 4
    assert _counts(store)[2] == 1  # the old pack's faces and vectors are gone

    back = repack.repack(store, root, load_face_models("buffalo_s", ("cpu",)), PERMISSIVE_PACK)
    assert back.labels_carried == 3 and back.decisions_not_found == []
    again = _faces(store, "buffalo_s")
    assert {p: (n, h) for p, (_, n, h) in again.items() if h == "human"} == {
        p: (n, h) for p, (_, n, h) in before.items() if p.endswith("/1.jpg") for n, h in
        [(p.split("/")[0], "human")]
    }  # fmt: skip
    assert _counts(store)[:3] == (persons, faces, 1)  # same persons, same number of faces


def test_run_stats_add_every_months_figure():
    total = repack.RepackStats("buffalo_s", "dlib_resnet")
    for month, n in (("2020-01", 1), ("2020-02", 2)):
        part = repack.RepackStats("buffalo_s", "dlib_resnet", [month], old_faces=n, new_faces=n + 1)
        part.matched_faces, part.labels_carried, part.rejections_carried = n, n, n
        part.decisions_not_found = [n * 10]
        total.add(part)
    assert total.months == ["2020-01", "2020-02"]
    assert (total.old_faces, total.new_faces, total.matched_faces) == (3, 5, 3)
    assert (total.labels_carried, total.rejections_carried) == (3, 3)
    assert total.decisions_not_found == [10, 20] and total.source == "buffalo_s"
