"""The review page over real HTTP on 127.0.0.1, on a store of real ingested faces: the auth
token, the CSRF token, thumbnails looked up by face id, labelling a cluster, and escaping."""

from __future__ import annotations

import http.client
import re
import threading
from urllib.parse import urlencode

import pytest

from face_assets import cli, review
from face_assets.store import Store
from face_assets.store import persons as person_store

PACK = "buffalo_s"
TOKEN = "test-token-0123456789abcdef"
CLUSTER = "clu_test"


@pytest.fixture
def served(real_store):
    """The app on a free port in a background thread, with kit_harington's faces clustered."""
    with real_store.transaction() as conn:
        face_ids = [
            r[0]
            for r in conn.execute(
                "SELECT f.id FROM faces f JOIN images i ON i.id = f.image_id"
                " WHERE i.rel_path LIKE 'kit_harington/%%' AND f.face_index = 0 ORDER BY f.id"
            )
        ]
        person_store.set_cluster(conn, face_ids, CLUSTER)
    app = review.ReviewApp(real_store, PACK, TOKEN)
    server = review.review_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield app, server.server_address[1], face_ids
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _call(port, method, path, headers=None, body=None):
    """(status, headers, body) of one request; redirects are returned, not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def _bearer(extra=None):
    return {"Authorization": f"Bearer {TOKEN}", **(extra or {})}


def _post_label(port, fields, headers=None):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return _call(port, "POST", "/label", _bearer({**form, **(headers or {})}), urlencode(fields))


def _state(store):
    """Persons and the faces left in the test cluster: what a refused request must not change."""
    with store.transaction() as conn:
        persons = conn.execute("SELECT id, name FROM persons ORDER BY id").fetchall()
        clustered = conn.execute(
            "SELECT id FROM faces WHERE cluster_id = %s ORDER BY id", (CLUSTER,)
        ).fetchall()
    return persons, clustered


def test_app_refuses_an_empty_or_short_token(tmp_path):
    store = Store("postgresql://unused", tmp_path)
    for token in ("", None, "short-token-15ch"[:15]):
        with pytest.raises(ValueError, match="at least 16 characters"):
            review.ReviewApp(store, PACK, token)


def test_requests_without_the_right_token_get_401(served):
    _, port, face_ids = served
    refused = [
        ("GET", "/", {}),
        ("GET", "/", {"Authorization": "Bearer wrong-token-0123456789abcdef"}),
        ("GET", "/", {"Authorization": TOKEN}),  # not a bearer token
        ("GET", "/", {"Cookie": f"{review.COOKIE_NAME}={TOKEN}"}),  # the token is not a session
        ("GET", "/?token=wrong-token-0123456789", {}),
        ("GET", "/persons", {}),
        ("GET", f"/thumb/{face_ids[0]}", {}),
        ("POST", "/label", {}),
    ]
    for method, path, headers in refused:
        status, _, body = _call(port, method, path, headers)
        assert status == 401, (method, path, headers)
        assert b"unauthorised" in body


def test_clusters_page_lists_the_cluster_with_thumbnails_served_by_face_id(served):
    _, port, face_ids = served
    status, headers, body = _call(port, "GET", "/", _bearer())
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none'
    assert CLUSTER in page and "href='/persons'" in page
    thumbs = [int(t) for t in re.findall(r"<img src='/thumb/(\d+)'", page)]
    assert thumbs and set(thumbs) <= set(face_ids) and len(thumbs) <= review.THUMBS_PER_CLUSTER

    status, headers, jpeg = _call(port, "GET", f"/thumb/{thumbs[0]}", _bearer())
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert jpeg.startswith(b"\xff\xd8")
    for path in ("/thumb/999999", "/thumb/abc", "/thumb/../../etc/passwd", "/nothing"):
        assert _call(port, "GET", path, _bearer())[0] == 404, path


def test_thumbnail_outside_the_media_root_is_never_served(served, real_store):
    _, port, face_ids = served
    with real_store.transaction() as conn:
        conn.execute(
            "UPDATE faces SET thumb_path = '../../../../../../etc/hostname' WHERE id = %s",
            (face_ids[0],),
        )
    assert _call(port, "GET", f"/thumb/{face_ids[0]}", _bearer())[0] == 404


def test_label_form_names_the_cluster_then_redirects(served, real_store):
    app, port, face_ids = served
    page = _call(port, "GET", "/", _bearer())[2].decode()
    csrf = re.search(r"name=csrf value='([^']+)'", page).group(1)
    assert csrf == app.csrf_token

    status, headers, _ = _post_label(port, {"cluster": CLUSTER, "name": "Kit", "csrf": csrf})
    assert status == 303 and headers["Location"] == "/"
    with real_store.transaction() as conn:
        labelled = conn.execute(
            "SELECT f.id FROM faces f JOIN persons p ON p.id = f.person_id"
            " WHERE p.name = 'Kit' AND f.assignment_method = 'human' ORDER BY f.id"
        ).fetchall()
    assert [r[0] for r in labelled] == face_ids
    assert CLUSTER not in _call(port, "GET", "/", _bearer())[2].decode()


def test_post_without_the_csrf_token_is_forbidden_and_changes_nothing(served, real_store):
    _, port, _ = served
    before = _state(real_store)
    for fields in (
        {"cluster": CLUSTER, "name": "Kit"},
        {"cluster": CLUSTER, "name": "Kit", "csrf": "x"},
    ):
        status, _, body = _post_label(port, fields)
        assert status == 403 and b"CSRF" in body
    assert _state(real_store) == before


def test_wrong_cluster_or_empty_name_is_a_400_that_changes_nothing(served, real_store):
    app, port, _ = served
    before = _state(real_store)
    for fields, message in (
        ({"cluster": "clu_nope", "name": "Kit"}, "no cluster &#x27;clu_nope&#x27;"),
        ({"cluster": CLUSTER, "name": "   "}, "name cannot be empty"),
    ):
        status, _, body = _post_label(port, {**fields, "csrf": app.csrf_token})
        assert status == 400 and message in body.decode()
    assert _state(real_store) == before


def test_names_are_escaped_on_the_persons_page(served):
    app, port, _ = served
    name = "<script>alert(1)</script>"
    fields = {"cluster": CLUSTER, "name": name, "csrf": app.csrf_token}
    assert _post_label(port, fields)[0] == 303
    status, _, body = _call(port, "GET", "/persons", _bearer())
    page = body.decode()
    assert status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page


def test_token_in_the_url_sets_a_session_cookie_once(served):
    _, port, _ = served
    status, headers, _ = _call(port, "GET", f"/?token={TOKEN}")
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    session = cookie.split(";")[0]
    status, _, body = _call(port, "GET", "/", {"Cookie": session})
    assert status == 200 and CLUSTER in body.decode()
    assert _call(port, "GET", "/persons", {"Cookie": session})[0] == 200


def test_cli_refuses_to_start_without_a_long_enough_token(monkeypatch, capsys):
    monkeypatch.delenv(review.TOKEN_ENV, raising=False)
    assert cli.main(["review", "--port", "0"]) == 2
    assert f"export {review.TOKEN_ENV}=$(python -c" in capsys.readouterr().err
    monkeypatch.setenv(review.TOKEN_ENV, "too-short")
    assert cli.main(["review", "--port", "0"]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
