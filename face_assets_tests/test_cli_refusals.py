"""What seed 002's verbs refuse on a real store: exit 2 and one clear line on stderr, no
traceback (the photo library is not needed to refuse; the line that says which store, once a
process, is no error)."""

from __future__ import annotations

import pytest

from face_assets_tests.test_cli_failures import _error_lines


@pytest.mark.parametrize(
    "argv, says",
    [
        (["backfill", "--limit", "0"], "--limit 0"),
        (["backfill", "--offset", "-1"], "--offset -1"),
        (["backfill", "--min-confidence", "1.5"], "from 0 to 1"),
        (["find-orphans", "--limit", "0"], "--limit 0"),
        (["cluster", "--time-bucket", "2025-12"], "spans months"),
        (["assign", "--max-faces", "10"], "--since"),
        (["assign", "--since", "yesterday"], "not a date"),
        (["cluster-dual", "--unknown-method", "kmeans"], "kmeans"),
        (["centroids", "--queue"], "no Dagster"),
    ],
)
def test_what_we_refuse_is_one_clear_line(cli_on_real_store, argv, says):
    code, _, err = cli_on_real_store(*argv)
    assert code == 2 and says in err and len(_error_lines(err)) == 1, err
