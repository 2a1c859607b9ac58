"""A small race harness against a live server: rounds of two clients doing conflicting
labelling operations at the same moment (a barrier releases both), with the store's
invariants checked after every round. Shared by test_races.py and
benchmarks/fault_injection.py (its concurrency section).

Invariants (issue 18): no face on a forgotten (no such row: a foreign key) or merged person;
no labelled face in a cluster; prototypes only from their person's own human-labelled faces;
one tombstone per forgotten box and one forget event per person; no 500 anywhere.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from face_assets.store import Store, bulk
from face_assets.store import clusters as cluster_store

API = "/api/v1/faces"
PACK = "buffalo_s"
FACES_PER_CLUSTER = 4
KINDS = (
    "label/label",
    "label/label blind",
    "label/forget",
    "split/label",
    "forget/forget",
    "merge/hide",
)
REQUEST_TIMEOUT = 60.0  # seconds: a request that waits longer on a lock is a failure too

INVARIANTS = {
    "face on a merged person": "SELECT count(*) FROM faces f JOIN persons p"
    " ON p.id = f.person_id WHERE p.status = 'merged'",
    "labelled face in a cluster": "SELECT count(*) FROM faces"
    " WHERE person_id IS NOT NULL AND cluster_id IS NOT NULL",
    "prototype from another's or an automatic face": "SELECT count(*) FROM person_prototypes pp"
    " JOIN faces f ON f.id = pp.face_id"
    " WHERE f.person_id IS DISTINCT FROM pp.person_id OR f.assignment_method <> 'human'",
    "prototype of a person without human faces": "SELECT count(*) FROM person_prototypes pp"
    " WHERE NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = pp.person_id"
    " AND f.assignment_method = 'human' AND f.pack = pp.pack)",
    "duplicate tombstone": "SELECT count(*) FROM (SELECT 1 FROM forgotten_faces"
    " GROUP BY image_id, bbox HAVING count(*) > 1) d",
    "second forget event": "SELECT count(*) FROM (SELECT 1 FROM label_events"
    " WHERE operation = 'forget' GROUP BY person_id HAVING count(*) > 1) d",
}


@dataclass
class KindReport:
    rounds: int = 0
    operations: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors_500: int = 0
    violations: Counter = field(default_factory=Counter)
    expected_failures: int = 0  # rounds whose outcome was not the one rule allows
    server_errors: list[str] = field(default_factory=list)  # the first lines of 5xx bodies
    seconds: float = 0.0


@contextlib.contextmanager
def racing_app(store: Store) -> Iterator[Callable[[], httpx.Client]]:
    """A live app (no models needed: labelling only) on this store, and a factory of
    authorised clients for it; the server stops on exit."""
    from face_assets.api import create_app
    from face_assets.defs.launcher import DagsterRuns
    from face_assets_tests.api.conftest import TOKEN, start, stop

    app = create_app(store, PACK, TOKEN, runs=DagsterRuns(), load_models_at_start=False)
    server, thread, port = start(app)

    def client() -> httpx.Client:
        return httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=REQUEST_TIMEOUT,
        )

    try:
        yield client
    finally:
        stop(server, thread)


@contextlib.contextmanager
def embedded_store(home: Path) -> Iterator[Store]:
    """A Store on its own embedded server under `home` (configured as `face-assets`
    configures it), stopped on exit."""
    from face_assets.store import db

    store = Store(None, home)
    store.url()
    try:
        yield store
    finally:
        db.stop_embedded_server(store.home_path / "pgdata")


def seed_clusters(store: Store, count: int, seed: int = 0) -> list[str]:
    """`count` clusters of FACES_PER_CLUSTER synthetic faces (one photo each, so no two faces
    overlap), each cluster's faces near one random direction."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(count, 512))
    vectors = np.repeat(centres, FACES_PER_CLUSTER, axis=0)
    vectors += 0.05 * rng.normal(size=vectors.shape)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    n = len(vectors)
    keys = np.asarray([f"race{seed}_{i}" for i in range(n)])
    names = [f"clu_race{seed}_{c}" for c in range(count)]
    with store.transaction() as conn:
        ids = bulk.add_faces(conn, PACK, vectors, keys, ["2024-01"] * n, np.full(n, 0.9))
        for c, name in enumerate(names):
            part = ids[c * FACES_PER_CLUSTER : (c + 1) * FACES_PER_CLUSTER]
            cluster_store.set_cluster(conn, [int(f) for f in part], name)
    return names


def check_invariants(store: Store) -> Counter:
    found: Counter = Counter()
    with store.transaction() as conn:
        for name, query in INVARIANTS.items():
            count = conn.execute(query).fetchone()[0]
            if count:
                found[name] += int(count)
    return found


class Race:
    """Two (or more) calls released together; their responses, in call order."""

    def __init__(self, client_of: Callable[[], httpx.Client]) -> None:
        self.client_of = client_of

    def __call__(self, *calls: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
        barrier = threading.Barrier(len(calls))
        out: list = [None] * len(calls)

        def worker(i: int) -> None:
            with self.client_of() as client:
                barrier.wait()
                try:
                    out[i] = calls[i](client)
                except httpx.HTTPError as exc:  # a timeout counts like a 500
                    out[i] = exc

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(REQUEST_TIMEOUT + 10)
        return out


def _status(r) -> int:
    return r.status_code if isinstance(r, httpx.Response) else 599


def _version(client: httpx.Client, cluster: str) -> str:
    got = client.get(f"{API}/clusters/{cluster}")
    got.raise_for_status()
    return got.json()["version"]


def _label(cluster: str, name: str, version: str | None):
    body = {"name": name} | ({"version": version} if version else {})
    return lambda c: c.post(f"{API}/clusters/{cluster}/label", json=body)


def _person_id(client: httpx.Client, cluster: str, name: str) -> int:
    done = client.post(f"{API}/clusters/{cluster}/label", json={"name": name})
    done.raise_for_status()
    return done.json()["personId"]


def _forget(person_id: int, name: str):
    body = {"confirm": f"forget {name}"}
    return lambda c: c.post(f"{API}/persons/{person_id}/forget", json=body)


def run_rounds(
    store: Store,
    client_of: Callable[[], httpx.Client],
    rounds: int,
    deadline_seconds: float,
    seed: int = 1,
) -> dict[str, KindReport]:
    """`rounds` rounds of every kind (fewer if the deadline passes first)."""
    reports = {kind: KindReport() for kind in KINDS}
    race = Race(client_of)
    clusters = iter(seed_clusters(store, rounds * len(KINDS) * 2, seed))
    stop_at = time.monotonic() + deadline_seconds
    for r in range(rounds):
        for kind in KINDS:
            if time.monotonic() > stop_at:
                return reports
            started = time.monotonic()
            a, b = next(clusters), next(clusters)
            with client_of() as client:
                got, ok = _round(kind, r, a, b, client, race)
            report = reports[kind]
            report.rounds += 1
            report.operations += len(got)
            statuses = [_status(x) for x in got]
            report.statuses.update(statuses)
            report.errors_500 += sum(s >= 500 for s in statuses)
            report.server_errors += [
                str(x.text if isinstance(x, httpx.Response) else x)[:300]
                for x in got
                if _status(x) >= 500
            ]
            report.expected_failures += not ok
            report.violations.update(check_invariants(store))
            report.seconds += time.monotonic() - started
    return reports


def _round(kind: str, r: int, a: str, b: str, client: httpx.Client, race: Race):
    """One round; (responses, whether the outcome is one the rules allow)."""
    if kind == "label/label":
        v = _version(client, a)
        got = race(_label(a, f"Alice {r}", v), _label(a, f"Bob {r}", v))
        return got, sorted(map(_status, got)) == [200, 409]
    if kind == "label/label blind":  # the two plain curls, no version
        got = race(_label(a, f"Ann {r}", None), _label(a, f"Ben {r}", None))
        return got, sorted(map(_status, got)) == [200, 409]
    if kind == "label/forget":
        name = f"Carol {r}"
        person = _person_id(client, a, name)
        v = _version(client, b)
        got = race(_label(b, name, v), _forget(person, name))
        return got, all(_status(x) in (200, 404, 409) for x in got)
    if kind == "split/label":
        v = _version(client, a)
        split = lambda c: c.post(f"{API}/clusters/{a}/split", json={"version": v})  # noqa: E731
        got = race(split, _label(a, f"Sam {r}", v))
        ok = sorted(map(_status, got)) == [200, 409]
        if _status(got[1]) == 200:  # labelled: give one face back, it must stay unclustered
            person = got[1].json()["personId"]
            face = client.get(f"{API}/persons/{person}").json()["faces"][0]["id"]
            back = client.post(f"{API}/faces/{face}/unassign")
            got.append(back)
            again = client.get(f"{API}/clusters/{a}")
            ok = ok and back.status_code == 200 and again.status_code in (404, 409)
        return got, ok
    if kind == "forget/forget":
        name = f"Gus {r}"
        person = _person_id(client, a, name)
        got = race(_forget(person, name), _forget(person, name))
        return got, sorted(map(_status, got)) in ([200, 404], [200, 400])
    if kind == "merge/hide":
        m = _person_id(client, a, f"Mia {r}")
        n = _person_id(client, b, f"Ned {r}")
        merge = lambda c: c.post(f"{API}/persons/{m}/merge", json={"intoPersonId": n})  # noqa: E731
        hide = lambda c: c.post(f"{API}/persons/{n}/hide")  # noqa: E731
        got = race(merge, hide)
        merged, hidden = (_status(x) for x in got)
        # Either order is allowed; a merge after the hide must be refused (400).
        return got, hidden == 200 and merged in (200, 400)
    raise ValueError(kind)


def table(reports: dict[str, KindReport]) -> str:
    lines = [
        f"{'race':20} {'rounds':>6} {'ops':>5} {'500s':>5} {'viol':>5} {'unexp':>5} {'s':>6}"
        "  statuses"
    ]
    for kind, rep in reports.items():
        statuses = " ".join(f"{k}x{v}" for k, v in sorted(rep.statuses.items()))
        lines.append(
            f"{kind:20} {rep.rounds:>6} {rep.operations:>5} {rep.errors_500:>5}"
            f" {sum(rep.violations.values()):>5} {rep.expected_failures:>5} {rep.seconds:>6.1f}"
            f"  {statuses}"
        )
    return "\n".join(lines)


# --- privacy at rest ---------------------------------------------------------------------


def files_containing(root: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    """Which files under root hold each needle's bytes (relative paths)."""
    found: dict[str, list[str]] = {name: [] for name in needles}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for name, needle in needles.items():
            if needle in data:
                found[name].append(str(path.relative_to(root)))
    return found
