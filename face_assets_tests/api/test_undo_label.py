"""Undoing a cluster's naming over REST: the faces still named by it go back to the cluster,
what a human changed since stays, an existing person keeps their other faces, and an undo
happens once."""

from __future__ import annotations

from face_assets.services import labels
from face_assets_tests.api.conftest import CLUSTER, PACK, faces_of, one_row

API = "/api/v1/faces"


def test_undo_gives_back_only_what_the_naming_did(live):
    other = faces_of(live.store, "person_09")[:1]
    labels.label_faces(live.store, other, "Kit", PACK)  # Kit exists with one face of their own
    with live.client() as client:
        named = client.post(f"{API}/clusters/{CLUSTER}/label", json={"name": "Kit"}).json()
        first, *rest = live.cluster_faces
        # Meanwhile a reviewer gives one of the faces to someone else: it stays theirs.
        labels.label_faces(live.store, [first], "Rose", PACK)
        undo = client.post(f"{API}/labels/{named['eventId']}/undo")
        assert undo.status_code == 200, undo.text
        body = undo.json()
        assert body == {**body, "facesReleased": len(rest), "facesChangedSince": 1,
                        "personRemoved": False, "clusterId": CLUSTER}  # fmt: skip
        again = client.post(f"{API}/labels/{named['eventId']}/undo")
        assert again.status_code == 400 and "already undone" in again.json()["detail"]
        assert client.post(f"{API}/labels/999999/undo").status_code == 404
    for face in rest:
        assert one_row(live.store, "SELECT person_id, cluster_id FROM faces WHERE id = %s",
                       (face,)) == (None, CLUSTER)  # fmt: skip
    rose = one_row(live.store, "SELECT person_id FROM faces WHERE id = %s", (first,))[0]
    kit = one_row(live.store, "SELECT person_id FROM faces WHERE id = %s", (other[0],))[0]
    assert rose != kit and kit == named["personId"]  # Kit keeps the face named before
    # Kit's prototypes come only from the face Kit still has.
    proto = one_row(
        live.store, "SELECT count(*) FROM person_prototypes WHERE person_id = %s", (kit,)
    )
    assert proto[0] >= 1
