"""The token proxy, run for real: nginx with deploy/nginx's template in front of a stub server.

Skipped where nginx is not installed (the template's static checks are in test_compose.py).
"""

from __future__ import annotations

import http.client
import http.server
import os
import shutil
import subprocess
import threading
import time

import pytest

from face_assets_tests.conftest import REPO_ROOT
from face_assets_tests.deploy.processes import free_port

TOKEN = "0123456789abcdef0123456789abcdef"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None
)


class Upstream(http.server.BaseHTTPRequestHandler):
    seen_authorization: list[str | None] = []

    def do_GET(self):
        Upstream.seen_authorization.append(self.headers.get("Authorization"))
        body = b"dagster webserver"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    if NGINX is None:
        pytest.skip(
            "nginx is not installed: `make test` installs it with apt-get when run as root;"
            " otherwise apt-get install nginx-light"
        )
    tmp = tmp_path_factory.mktemp("nginx")
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    # What the nginx image's envsubst step does with NGINX_ENVSUBST_FILTER=^FACE_ASSETS_,
    # plus our test ports instead of the compose network's.
    site = (
        (REPO_ROOT / "deploy" / "nginx" / "face_assets.conf.template")
        .read_text()
        .replace("${FACE_ASSETS_UI_TOKEN}", TOKEN)
        .replace("listen 8080;", f"listen 127.0.0.1:{port};")
        .replace("http://webserver:3000", f"http://127.0.0.1:{upstream.server_port}")
    )
    (tmp / "site.conf").write_text(site)
    temp_paths = "".join(
        f"  {kind}_temp_path {tmp}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp / "nginx.conf").write_text(
        f"pid {tmp}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n{temp_paths}  include {tmp}/site.conf;\n}}\n"
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stderr.read()
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        upstream.shutdown()


def get(port: int, path: str = "/", headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read().decode()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
        {"Cookie": "face_assets_token=wrong"},
    ],
)
def test_no_or_wrong_token_is_refused(proxy, headers):
    status, response_headers, body = get(proxy, "/graphql", headers)
    assert status == 401
    assert response_headers["WWW-Authenticate"].startswith("Bearer")
    assert "dagster" not in body


def test_bearer_token_passes_and_stops_at_the_proxy(proxy):
    Upstream.seen_authorization.clear()
    status, _, body = get(proxy, "/runs", {"Authorization": f"Bearer {TOKEN}"})
    assert (status, body) == (200, "dagster webserver")
    assert Upstream.seen_authorization == [None]


def test_token_in_the_address_sets_a_cookie_once(proxy):
    status, headers, _ = get(proxy, "/?token=wrong")
    assert status == 401 and "Set-Cookie" not in headers
    status, headers, _ = get(proxy, f"/?token={TOKEN}")
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"face_assets_token={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, _, body = get(proxy, "/", {"Cookie": cookie.split(";")[0]})
    assert (status, body) == (200, "dagster webserver")
