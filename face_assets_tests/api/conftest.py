"""A live app: uvicorn on 127.0.0.1 and a free port, in a thread, on a real store of real
ingested faces (`real_store`), with the real buffalo_s models."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from face_assets.api import create_app
from face_assets.api.server import server_config
from face_assets.defs.launcher import DagsterRuns
from face_assets.store import Store
from face_assets.store import clusters as cluster_store
from face_assets_tests.chromium import system_chromium

PACK = "buffalo_s"
TOKEN = "N7qVx2RkT9mWp4LzH8cJd3Fs"  # generated-looking: auth refuses word-and-digit tokens
CLUSTER = "clu_test"
START_TIMEOUT = 30  # seconds for the server (and the models) to come up


@dataclass
class Live:
    url: str
    port: int
    store: Store
    app: object
    cluster_faces: list[int]  # kit_harington's largest face per photo, clustered as CLUSTER
    labelled: list[int]  # how many times on_labelled ran (one entry per call)

    def client(self, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def anonymous(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


CLIP_STAMP = 1_700_000_000  # 2023-11: a test clip carries no container time, so its file time


@contextlib.contextmanager
def harvested_clip(
    store: Store, library_root: Path, faces_real: Path, models, rel_path: str, a: float, bc: float
) -> Iterator[None]:
    """A scene clip (vision/clips.scene_clip: A for `a` s, then B and C for `bc` s) at rel_path
    in a new folder of the library, filed in 2023-11 by its file time, registered and harvested
    (every 12th frame); the folder is removed afterwards."""
    from face_assets.defs.partitions import partition_of
    from face_assets.services import video_harvest, video_registration
    from face_assets.vision.harvest_rules import HarvestConfig
    from face_assets_tests.vision import clips

    path = library_root / rel_path
    path.parent.mkdir()
    try:
        clips.scene_clip(path, faces_real, a, bc)
        os.utime(path, (CLIP_STAMP, CLIP_STAMP))
        video_registration.register_videos(store, library_root, partition_of)
        config = HarvestConfig(sample_interval=12)
        video_harvest.harvest_month(store, library_root, "2023-11", models, config)
        yield
    finally:
        shutil.rmtree(path.parent)


@pytest.fixture(scope="module")
def browser():
    """A system Chromium for one test module (skipped, saying why, where none is installed)."""
    with system_chromium() as launched:
        yield launched


def name_unticking(tab, app_url: str, untick: str, name: str) -> str:
    """On a cluster's review page: untick one member (`untick`: its checkbox's selector), name
    the rest `name`, wait for the front page's "named" message and return its text."""
    tab.uncheck(untick)
    tab.fill("#label-form input[name=name]", name)
    tab.click("#label-form button")
    tab.wait_for_url(re.compile(re.escape(app_url) + r"/\?done=named"))
    return tab.inner_text(".flash")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def faces_of(store: Store, folder: str) -> list[int]:
    """The largest face of each photo of one person's folder in the real library."""
    return first_column(
        store,
        "SELECT f.id FROM faces f JOIN images i ON i.id = f.image_id"
        " WHERE i.rel_path LIKE %s AND f.face_index = 0 ORDER BY f.id",
        (f"{folder}/%",),
    )


def one_row(store: Store, query: str, args: tuple = ()) -> tuple | None:
    """The first row of a query, read in its own transaction."""
    with store.transaction() as conn:
        return conn.execute(query, args).fetchone()


def all_rows(store: Store, query: str, args: tuple = ()) -> list[tuple]:
    """Every row of a query, read in its own transaction."""
    with store.transaction() as conn:
        return conn.execute(query, args).fetchall()


def first_column(store: Store, query: str, args: tuple = ()) -> list:
    """The first value of every row of a query, read in its own transaction."""
    with store.transaction() as conn:
        return [r[0] for r in conn.execute(query, args)]


def date_photos(store: Store, taken: dict[int, datetime]) -> None:
    """Set the capture time of each face's photo: {face id: when it was taken}."""
    with store.transaction() as conn:
        for face, moment in taken.items():
            conn.execute(
                "UPDATE images SET taken_at = %s WHERE id = (SELECT image_id FROM faces"
                " WHERE id = %s)",
                (moment, face),
            )


def group_photo(store: Store) -> tuple[int, str, list[tuple[int, list[float]]]]:
    """The group photo of the real library (kit with rose): id, month and its faces with boxes."""
    image_id, month = one_row(store, "SELECT id, month FROM images WHERE rel_path LIKE 'group/%%'")
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT id, bbox FROM faces WHERE image_id = %s ORDER BY face_index", (image_id,)
        ).fetchall()
    return image_id, month, [(f, [float(v) for v in b]) for f, b in rows]


def start(app) -> tuple[uvicorn.Server, threading.Thread, int]:
    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    return server, thread, port


def stop(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(15)


@pytest.fixture
def live(real_store, real_library, face_models):
    """The app on a free port; kit_harington's faces form the cluster CLUSTER."""
    face_ids = faces_of(real_store, "kit_harington")
    with real_store.transaction() as conn:
        cluster_store.set_cluster(conn, face_ids, CLUSTER)
    calls: list[int] = []
    app = create_app(
        real_store,
        PACK,
        TOKEN,
        runs=DagsterRuns(),
        on_labelled=lambda: calls.append(1),
        library_root=real_library.root,
    )
    server, thread, port = start(app)
    try:
        yield Live(f"http://127.0.0.1:{port}", port, real_store, app, face_ids, calls)
    finally:
        stop(server, thread)
