"""What the Dagster UI shows beside the identity assets (issue 17): person_labels observed by
the CLI or the app carries its counts, face_clusters previews its largest clusters and links
them to the review page when the app's URL is known."""

from __future__ import annotations

from dagster import AssetKey

from face_assets.defs.assets.metadata import clusters_preview, review_page

CLUSTERS = [
    {"cluster_id": "clu_aaaa", "size": 12, "avg_quality": 0.71, "sample_faces": [3, 4, 5]},
    {"cluster_id": "clu_bbbb", "size": 4, "avg_quality": None, "sample_faces": [9]},
]


def test_largest_clusters_preview_links_to_the_review_page_when_configured():
    linked = clusters_preview(CLUSTERS, "http://faces.example:8765/", limit=1)
    assert "[clu_aaaa](http://faces.example:8765/review/clusters/clu_aaaa) | 12 | 0.710" in linked
    assert "clu_bbbb" not in linked  # only the largest `limit`
    plain = clusters_preview(CLUSTERS, None, limit=5)
    assert "| clu_bbbb | 4 | 0.000 | 9 |" in plain and "](" not in plain
    assert clusters_preview([], None, limit=5) == "no clusters"
    assert review_page(None, "/review/clusters") == {}
    assert review_page("http://h:1/", "/review/clusters")["review_page"].url == (
        "http://h:1/review/clusters"
    )


def test_a_reported_label_change_carries_the_counts(store, tmp_path):
    from face_assets.defs.instance import instance_at, report_labels_changed

    version = report_labels_changed(store, tmp_path / "dagster_home")
    instance = instance_at(tmp_path / "dagster_home")
    try:
        (record,) = instance.fetch_observations(AssetKey("person_labels"), limit=1).records
    finally:
        instance.dispose()
    observation = record.asset_observation
    assert observation.tags["dagster/data_version"] == version
    assert {"active_persons", "human_labelled_faces"} <= set(observation.metadata)


def test_the_preview_reads_only_the_clusters_it_shows(store):
    """face_clusters asks the store for its PREVIEW largest clusters, not the whole library's."""
    from face_assets.services import views
    from face_assets_tests.store.helpers import bare_image

    with store.transaction() as conn:
        image = bare_image(conn, "x.jpg", "2020-01")
        for n, cluster in enumerate(["clu_big"] * 3 + ["clu_mid"] * 2 + ["clu_one"]):
            conn.execute(
                "INSERT INTO faces (image_id, pack, month, face_index, bbox_x, bbox_y, bbox_w,"
                " bbox_h, bbox, landmarks, det_score, crop_path, thumb_path, cluster_id)"
                " VALUES (%s, 'buffalo_s', '2020-01', %s, 0, 0, 1, 1, '{0,0,1,1}', '{}', 0.9,"
                " '', '', %s)",
                (image, n, cluster),
            )
    assert [c["cluster_id"] for c in views.clusters(store, "buffalo_s", 2)] == [
        "clu_big",
        "clu_mid",
    ]
    assert [c["size"] for c in views.clusters(store, "buffalo_s")] == [3, 2, 1]
