"""Where the monthly partitions start: read once when the code location loads, so that read
must never fail the load nor start a server that holds nothing."""

from __future__ import annotations

import logging

from face_assets.defs.partitions import first_partition_month
from face_assets.settings import DATABASE_URL_ENV, HOME_ENV, START_MONTH_ENV, Settings

UNREACHABLE = "postgresql://127.0.0.1:1/none"  # nothing listens on port 1: refused at once


def test_the_start_month_set_in_the_environment_wins_without_asking_the_store(tmp_path, caplog):
    env = {HOME_ENV: str(tmp_path), START_MONTH_ENV: "2015-03", DATABASE_URL_ENV: UNREACHABLE}
    with caplog.at_level(logging.WARNING, logger="face_assets.defs.partitions"):
        assert first_partition_month(Settings.from_env(env)) == "2015-03"
    assert not caplog.records  # the unreachable store was never asked


def test_an_unreachable_store_gives_the_default_start_and_a_warning(tmp_path, caplog):
    settings = Settings.from_env({HOME_ENV: str(tmp_path), DATABASE_URL_ENV: UNREACHABLE})
    with caplog.at_level(logging.WARNING, logger="face_assets.defs.partitions"):
        assert first_partition_month(settings) == settings.start_month
    assert "did not say where the library starts" in caplog.text


def test_a_home_never_scanned_starts_no_embedded_server(tmp_path):
    settings = Settings.from_env({HOME_ENV: str(tmp_path)})
    assert first_partition_month(settings) == settings.start_month
    assert not (tmp_path / "pgdata").exists()


def test_the_partitions_start_at_the_first_month_the_scans_filed(store, tmp_path):
    with store.transaction() as conn:
        for rel, month in (("a.jpg", "2019-07"), ("b.jpg", "2021-02")):
            conn.execute(
                "INSERT INTO library_files (rel_path, size, mtime_ns, month, status)"
                " VALUES (%s, 1, 1, %s, 'ok')",
                (rel, month),
            )
    env = {HOME_ENV: str(tmp_path), DATABASE_URL_ENV: store.database_url}
    assert first_partition_month(Settings.from_env(env)) == "2019-07"
