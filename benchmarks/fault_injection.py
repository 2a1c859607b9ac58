"""Fault injection: kill the ingest and its database at chosen moments, then compare the
recovered library with a clean run; forget a person, re-detect at another detector size and
look for them everywhere.

    python benchmarks/fault_injection.py [--photos 200] [--workdir DIR] [--keep]
        [--sections faults,concurrency,at_rest,upload] [--rounds 10]

Real photos (../shared/data/lfw_dev) are copied over three months (file times). Every
scenario uses the real `face-assets ingest` command in a subprocess with a fresh
FACE_ASSETS_HOME (its own embedded PostgreSQL) and DAGSTER_HOME:

- clean: one uninterrupted run, the reference.
- SIGKILL of the CLI during detection, between detection and embedding, during embedding,
  during identities (moments picked by polling the store's counts and the CLI's output).
- the embedded PostgreSQL's postmaster (pid from postmaster.pid) sent SIGTERM, and SIGKILL,
  while the ingest runs.
- forget: on the clean library a cluster is named, the person forgotten, every month
  re-detected at det_size 800 through Dagster, and ingest run again.

After each fault the same command runs again and the result is compared with the clean run:
images, faces (matched per photo by box overlap: lost / duplicated), embeddings, crops and
thumbnails on disk, clusters, orphans (find-orphans), persons; and no forgotten face or name
in the store's tables, the media folder or Dagster's storage under DAGSTER_HOME. Prints a
table and one JSON line.

Issue 18's sections (each on its own embedded server, synthetic faces, no photos needed):
- concurrency: the race harness of the tests (face_assets_tests/api/race_harness.py) against a
  live `face-assets serve` app: label/label (with and without the version), label/forget,
  split/label, forget/forget, merge/hide from two clients at once, `--rounds` rounds each,
  invariants checked after every round: rounds, operations, 500s, violations (all zero).
- at_rest: names (current, before a rename, a merged alias) and embeddings of a forgotten
  person searched byte for byte in the whole data directory (heap, TOAST, indexes,
  statistics, WAL, server log) before and right after the forget (the stated delay: 0 s, the
  scrub runs when the forget commits): bytes found after must be zero.
- upload: the decode budget's estimate of an 80 MP upload against its measured peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

warnings.filterwarnings("ignore")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

import psycopg

from face_assets import media
from face_assets.services import cluster_naming, forgetting, labels, maintenance, views
from face_assets.store import Store, db
from face_assets.vision.matching import SAME_FACE_IOU, iou_matrix, match_boxes

REPO = Path(__file__).resolve().parents[1]
LFW = REPO.parent / "shared" / "data" / "lfw_dev"
MONTHS = (datetime(2019, 1, 15), datetime(2019, 2, 15), datetime(2019, 3, 15))
CLI = [sys.executable, "-m", "face_assets.cli"]
POLL_SECONDS = 0.05  # fast enough to land between two steps of a month
STEP_TIMEOUT = 600  # seconds any single CLI run may take on 2 cores
OTHER_DET_SIZE = 800  # issue 11's reproduction (the default is 640)
FORGET_NAME = "Benchmark Forgettable Person"


@dataclass
class Snapshot:
    images: int
    faces: dict[str, list[list[float]]]  # image sha256 -> boxes
    face_count: int
    embeddings: int
    media_files: int
    clusters: int
    persons: int
    orphans: int
    unscored: int


@dataclass
class Outcome:
    name: str
    hit: str = ""
    recovered: bool = False
    lost: int = 0
    duplicated: int = 0
    orphans: int = 0
    forgotten_found: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def build_library(root: Path, photos: int) -> int:
    files = sorted(LFW.glob("*/*.jpg"))[:photos]
    for k, source in enumerate(files):
        target = root / f"m{k % 3}" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        stamp = MONTHS[k % 3].timestamp()
        os.utime(target, (stamp, stamp))
    return len(files)


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACE_ASSETS_", "DAGSTER_H"))}
    env.update(
        FACE_ASSETS_HOME=str(home / "home"),
        DAGSTER_HOME=str(home / "dagster_home"),
        PYTHONWARNINGS="ignore",
    )
    return env


def store_of(home: Path) -> Store:
    return Store(None, home / "home")


def pgdata(home: Path) -> Path:
    return home / "home" / "pgdata"


def counts(home: Path) -> dict[str, int]:
    """Live counts, read with a short timeout (the database may be dying)."""
    pid_file = pgdata(home) / "postmaster.pid"
    if not pid_file.exists():
        return {}
    lines = pid_file.read_text().splitlines()
    if len(lines) < 5:
        return {}
    socket_dir, port = lines[4], lines[3]
    url = f"postgresql://postgres@/{db.EMBEDDED_DATABASE}?host={socket_dir}&port={port}"
    try:
        with psycopg.connect(url, connect_timeout=1) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM detections),"
                " (SELECT count(*) FROM faces), (SELECT count(*) FROM face_embeddings),"
                " (SELECT count(*) FROM faces WHERE quality IS NOT NULL)"
            ).fetchone()
    except psycopg.Error:
        return {}
    return dict(zip(("images", "detections", "faces", "embeddings", "scored"), row, strict=True))


def snapshot(home: Path) -> Snapshot:
    store = store_of(home)
    with store.transaction() as conn:
        images = conn.execute("SELECT count(*) FROM images WHERE status = 'ok'").fetchone()[0]
        rows = conn.execute(
            "SELECT i.sha256, f.bbox FROM faces f JOIN images i ON i.id = f.image_id ORDER BY f.id"
        ).fetchall()
        embeddings = conn.execute("SELECT count(*) FROM face_embeddings").fetchone()[0]
        unscored = conn.execute("SELECT count(*) FROM faces WHERE quality IS NULL").fetchone()[0]
    faces: dict[str, list[list[float]]] = {}
    for sha, bbox in rows:
        faces.setdefault(sha, []).append([float(v) for v in bbox])
    summary = views.library_summary(store, "buffalo_s")["identities"]
    orphans = maintenance.find_orphans(store, "buffalo_s")
    return Snapshot(
        images=images,
        faces=faces,
        face_count=len(rows),
        embeddings=embeddings,
        media_files=len(media.stored_files(store.media_root)),
        clusters=summary["clusters"],
        persons=summary["persons"],
        orphans=orphans["faces_without_embedding"]
        + orphans["face_rows_without_files"]
        + orphans["files_without_face_rows"],
        unscored=unscored,
    )


def compare(clean: Snapshot, got: Snapshot) -> tuple[int, int, list[str]]:
    """(lost, duplicated, differences) of a recovered library against the clean one."""
    lost = duplicated = 0
    for sha in set(clean.faces) | set(got.faces):
        want, have = clean.faces.get(sha, []), got.faces.get(sha, [])
        pairs = match_boxes(have, want, SAME_FACE_IOU)
        lost += len(want) - len(pairs)
        duplicated += len(have) - len(pairs)
    diffs = []
    for key in ("images", "face_count", "embeddings", "media_files", "clusters", "persons"):
        a, b = getattr(clean, key), getattr(got, key)
        if a != b:
            diffs.append(f"{key} {b} vs {a}")
    if got.unscored:
        diffs.append(f"unscored {got.unscored}")
    return lost, duplicated, diffs


def ingest(home: Path, library: Path, stdout=None) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "ingest", str(library)],
        env=env_for(home),
        stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    _, err = process.communicate(timeout=STEP_TIMEOUT)
    return process.returncode, err


def wait_for(home: Path, condition, process: subprocess.Popen, timeout: float = STEP_TIMEOUT):
    """Poll the store's counts until condition(counts) holds; the counts then, or None when
    the run ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = counts(home)
        if found and condition(found):
            return found
        if process.poll() is not None:
            return None
        time.sleep(POLL_SECONDS)
    return None


def stop_server(home: Path) -> None:
    with contextlib.suppress(Exception):
        db.stop_embedded_server(pgdata(home))


def postmaster_pid(home: Path) -> int:
    return int((pgdata(home) / "postmaster.pid").read_text().splitlines()[0])


def wait_gone(pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def kill_cli(name: str, home: Path, library: Path, total: int, moment) -> Outcome:
    outcome = Outcome(name)
    process = ingest(home, library)
    hit = wait_for(home, moment, process)
    if hit is None:
        outcome.notes.append("run ended before the moment")
    else:
        os.kill(process.pid, signal.SIGKILL)  # the CLI runs its jobs in its own process
        outcome.hit = " ".join(f"{k[:3]}={v}" for k, v in hit.items() if k != "images")
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    return outcome


def kill_during_identities(home: Path, library: Path, months: int) -> Outcome:
    """The CLI prints one line per finished month, then runs identities: kill after the last."""
    outcome = Outcome("kill: during identities")
    process = ingest(home, library, stdout=subprocess.PIPE)
    done = 0
    for line in process.stdout:
        done += ": done in" in line
        if done == months:
            time.sleep(1.5)  # the refresh_identities run has started
            if process.poll() is None:
                hit = counts(home)
                os.kill(process.pid, signal.SIGKILL)
                outcome.hit = f"months={done} emb={hit.get('embeddings')}"
            break
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    if not outcome.hit:
        outcome.notes.append("run ended before identities")
    return outcome


def stop_database(name: str, home: Path, library: Path, sig: int) -> Outcome:
    outcome = Outcome(name)
    process = ingest(home, library)
    hit = wait_for(home, lambda c: c["faces"] > 0 and c["embeddings"] > 0, process)
    if hit is None:
        outcome.notes.append("run ended before the moment")
    else:
        pid = postmaster_pid(home)
        os.kill(pid, sig)
        outcome.hit = " ".join(f"{k[:3]}={v}" for k, v in hit.items() if k != "images")
        wait_gone(pid)
    rc, err = finish(process)
    lines = [line for line in err.splitlines() if line.strip()]
    # SIGTERM is PostgreSQL's smart shutdown: open sessions (the CLI keeps one per thread)
    # finish their work, so the run may end normally; a run that fails must say so in one line.
    clear = rc == 0 or (len(lines) == 1 and "database is unreachable" in lines[0])
    outcome.notes.append(f"exit {rc}, {len(lines)} stderr line(s)" + ("" if clear else " !"))
    if sig == signal.SIGKILL:
        time.sleep(2)  # orphaned backends notice the postmaster's death and exit
    return outcome


def recover(outcome: Outcome, home: Path, library: Path, clean: Snapshot) -> None:
    rc, err = finish(ingest(home, library))
    if rc != 0:
        outcome.notes.append(f"re-run exit {rc}: {err.strip().splitlines()[-1:]}")
    got = snapshot(home)
    outcome.lost, outcome.duplicated, diffs = compare(clean, got)
    outcome.orphans = got.orphans
    outcome.notes.extend(diffs)
    outcome.recovered = rc == 0 and not diffs and outcome.lost == outcome.duplicated == 0


REDETECT = """
import os, sys, warnings
warnings.filterwarnings("ignore")
from face_assets.defs.code_location import build_definitions
from face_assets.defs.instance import local_instance
from face_assets.settings import Settings
from pathlib import Path
defs = build_definitions(library_root=Path(sys.argv[1]))
job = defs.resolve_job_def("ingest_month")
config = {"resources": {"face_models": {"config": {"det_size": int(sys.argv[2])}}},
          "ops": {"detected_faces": {"config": {"redetect": True}}},
          "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
removed = new = 0
for month in sys.argv[3:]:
    result = job.execute_in_process(run_config=config, partition_key=month,
                                    instance=local_instance(Settings.from_env().dagster_home),
                                    raise_on_error=True)
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        if "stale_faces_removed" in meta:
            removed += meta["stale_faces_removed"].value
            new += meta["faces_new"].value
print(removed, new)
"""


def forget_and_redetect(home: Path, library: Path, clean: Snapshot) -> Outcome:
    """Name the largest cluster, forget the person, re-detect every month at 800 px through
    Dagster, run ingest again; then look for the person everywhere."""
    outcome = Outcome("forget + redetect at 800")
    store = store_of(home)
    clusters = views.clusters(store, "buffalo_s")
    if not clusters:
        outcome.notes.append("no cluster to name")
        return outcome
    cluster = clusters[0]["cluster_id"]
    labelled = cluster_naming.label_cluster(store, cluster, FORGET_NAME, "buffalo_s")
    with store.transaction() as conn:
        boxes = conn.execute(
            "SELECT f.image_id, f.bbox, f.crop_path, f.thumb_path FROM faces f"
            " WHERE f.person_id = %s",
            (labelled["person_id"],),
        ).fetchall()
        months = [r[0] for r in conn.execute("SELECT DISTINCT month FROM images ORDER BY 1")]
    # The name is in Dagster's event log only if something writes it there: run identities.
    finish(ingest(home, library))
    result = forgetting.forget_person(store, FORGET_NAME)
    outcome.hit = f"forgot {result['faces_deleted']} faces"
    done = subprocess.run(
        [sys.executable, "-c", REDETECT, str(library), str(OTHER_DET_SIZE), *months],
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )
    if done.returncode != 0:
        outcome.notes.append(f"redetect failed: {done.stderr.strip().splitlines()[-1:]}")
        return outcome
    not_found_at_800, new_at_800 = (int(v) for v in done.stdout.strip().splitlines()[-1].split())
    rc, err = finish(ingest(home, library))
    if rc != 0:
        outcome.notes.append(f"re-run exit {rc}")
    got = snapshot(home)
    # Forgotten faces: any face overlapping a forgotten box, files, the name anywhere.
    with store.transaction() as conn:
        found = 0
        for image_id, bbox, _, _ in boxes:
            for (other,) in conn.execute("SELECT bbox FROM faces WHERE image_id = %s", (image_id,)):
                found += iou_matrix([other], [bbox])[0, 0] >= SAME_FACE_IOU
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        # Table names come from the catalogue, never from input.
        text = "\n".join(
            r[0]
            for t in tables
            for r in conn.execute(f'SELECT row_to_json(x)::text FROM "{t}" x')  # noqa: S608
        ).lower()
    found += FORGET_NAME.lower() in text
    found += sum(
        (store.media_root / p).exists() for _, _, crop, thumb in boxes for p in (crop, thumb)
    )
    needle = FORGET_NAME.lower().encode()
    for path in (home / "dagster_home").rglob("*"):
        if path.is_file():
            found += needle in path.read_bytes().lower()
    outcome.forgotten_found = int(found)
    # Against the clean run: the forgotten faces are gone by design, faces the 800 px detector
    # no longer finds are removed (none labelled) and faces only it finds are added (none on a
    # tombstone: counted in forgotten_found); every other face keeps its row.
    expected = clean.face_count - len(boxes) - not_found_at_800 + new_at_800
    outcome.duplicated = sum(
        int((iou_matrix(b, b) >= SAME_FACE_IOU).sum() - len(b)) // 2 for b in got.faces.values()
    )
    outcome.lost = max(0, expected - got.face_count)
    outcome.orphans = got.orphans
    outcome.notes.append(
        f"at 800 px: {not_found_at_800} faces no longer found (removed), {new_at_800} new"
    )
    if got.face_count != expected:
        outcome.notes.append(f"faces {got.face_count} vs expected {expected}")
    if got.embeddings != got.face_count:
        outcome.notes.append(f"embeddings {got.embeddings} of {got.face_count}")
    outcome.recovered = (
        rc == 0
        and not outcome.forgotten_found
        and got.face_count == expected
        and got.embeddings == got.face_count
        and outcome.duplicated == 0
    )
    return outcome


# --- issue 18: concurrency, privacy at rest, upload memory ------------------------------


@contextlib.contextmanager
def embedded_store(prefix: str):
    """A Store on its own embedded server (configured as the product configures it)."""
    from face_assets_tests.api.race_harness import embedded_store as on_own_server

    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with on_own_server(work / "home") as store:
            yield store
    finally:
        shutil.rmtree(work, ignore_errors=True)


def concurrency_section(rounds: int) -> dict:
    from face_assets_tests.api import race_harness

    with embedded_store("races_") as store, race_harness.racing_app(store) as client:
        started = time.perf_counter()
        reports = race_harness.run_rounds(store, client, rounds, deadline_seconds=3600)
        seconds = time.perf_counter() - started
    print("\nconcurrency (two clients at once against a live server; invariants per round)")
    print(race_harness.table(reports))
    totals = {
        "rounds": sum(r.rounds for r in reports.values()),
        "operations": sum(r.operations for r in reports.values()),
        "errors_500": sum(r.errors_500 for r in reports.values()),
        "violations": sum(sum(r.violations.values()) for r in reports.values()),
        "unexpected_outcomes": sum(r.expected_failures for r in reports.values()),
        "seconds": round(seconds, 1),
    }
    print(
        f"total: {totals['rounds']} rounds, {totals['operations']} operations,"
        f" {totals['errors_500']} 500s, {totals['violations']} invariant violations,"
        f" {totals['unexpected_outcomes']} unexpected outcomes in {seconds:.0f} s"
    )
    totals["ok"] = not (
        totals["errors_500"] or totals["violations"] or totals["unexpected_outcomes"]
    )
    return totals


def at_rest_section(library_faces: int = 0) -> dict:
    """library_faces: unlabelled faces of others added first, to measure what the scrub (it
    rewrites whole tables and their indexes, the HNSW one included) costs on a library."""
    import numpy as np

    from face_assets.store import bulk
    from face_assets_tests.api.race_harness import files_containing

    names = ["Benchmark Forgotten-Person", "Benchmark Before-Rename", "Benchmark Merged-Alias"]
    n = 40
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(n, 512)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with embedded_store("at_rest_") as store:
        with store.transaction() as conn:
            keys = np.asarray([f"rest_{i}" for i in range(n)])
            ids = [int(f) for f in bulk.add_faces(conn, "buffalo_s", vectors, keys,
                                                   ["2024-01"] * n, np.full(n, 0.9))]  # fmt: skip
        for start in range(0, library_faces, 5000):
            others = rng.normal(size=(min(5000, library_faces - start), 512)).astype(np.float32)
            others /= np.linalg.norm(others, axis=1, keepdims=True)
            other_keys = np.asarray([f"other_{start + i}" for i in range(len(others))])
            with store.transaction() as conn:
                bulk.add_faces(conn, "buffalo_s", others, other_keys,
                               ["2024-02"] * len(others), np.full(len(others), 0.9))  # fmt: skip
        half = n // 2
        labels.label_faces(store, ids[: half // 2], names[1], "buffalo_s")
        labels.rename_person(store, names[1], names[0])
        labels.label_faces(store, ids[half // 2 : half], names[2], "buffalo_s")
        labels.merge_persons(store, names[2], names[0], "buffalo_s")
        labels.label_faces(store, ids[half:], "Benchmark Kept-Person", "buffalo_s")
        with store.outside_transaction() as conn:
            conn.execute("ANALYZE")  # as autovacuum would: names into pg_statistic
            conn.execute("CHECKPOINT")
        needles = {f"name: {x}": x.encode() for x in names}
        needles |= {f"name: {x.lower()}": x.lower().encode() for x in names}
        needles |= {
            f"vector {i}": np.asarray(v[100:116], dtype="<f4").tobytes()
            for i, v in enumerate(vectors[:half])
        }
        pgdata = store.home_path / "pgdata"
        before = files_containing(pgdata, needles)
        result = forgetting.forget_person(store, names[0])
        after = files_containing(pgdata, needles)
    kinds = {"names": [k for k in needles if k.startswith("name")]}
    kinds["vectors"] = [k for k in needles if k.startswith("vector")]
    print("\nprivacy at rest (forgotten bytes in the data directory; delay: 0 s, at the forget)")
    print(
        f"{'what':10} {'needles':>7} {'found before':>12} {'found after':>11} {'files after':>11}"
    )
    rows = {}
    for kind, keys in kinds.items():
        found_before = sum(bool(before[k]) for k in keys)
        found_after = sum(bool(after[k]) for k in keys)
        files = sorted({f for k in keys for f in after[k]})
        rows[kind] = {"needles": len(keys), "before": found_before, "after": found_after}
        print(f"{kind:10} {len(keys):>7} {found_before:>12} {found_after:>11} {len(files):>11}")
        for path in files[:5]:
            print(f"    still in {path}")
    scrub = result["at_rest"]
    print(
        f"scrub: {len(scrub['tables_rewritten'])} tables rewritten, statistics"
        f" {'rewritten' if scrub['statistics_rewritten'] else 'NOT rewritten'}, WAL"
        f" {'checkpointed' if scrub['wal_checkpointed'] else 'NOT checkpointed'}"
        f" (wal_recycle={scrub['wal_recycle']}) in {scrub['seconds']:.2f} s"
        f" on a library of {n + library_faces} faces"
    )
    return {
        **rows,
        "scrub_seconds": scrub["seconds"],
        "ok": all(r["after"] == 0 for r in rows.values()) and scrub["complete"],
    }


UPLOAD_PROBE = r"""
import sys
from pathlib import Path
from face_assets.services import analysis


def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024


data = Path(sys.argv[1]).read_bytes()
base = status("VmRSS")
Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
bgr = analysis.decode(data)
print(status("VmHWM") - base)
"""


def upload_section(megapixels: float = 79.0) -> dict:
    """The decode budget's estimate of the issue's upload (a PNG just under the pixel cap)
    against the peak RSS a fresh process measures decoding it."""
    from PIL import Image

    from face_assets.api import decode_budget

    work = Path(tempfile.mkdtemp(prefix="upload_"))
    try:
        width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
        height = int(megapixels * 1e6 / width)
        path = work / "big.png"
        Image.new("RGB", (width, height), (120, 80, 40)).save(path)
        data = path.read_bytes()
        estimate = decode_budget.decode_cost(data)
        done = subprocess.run(
            [sys.executable, "-c", UPLOAD_PROBE, str(path)],
            capture_output=True, text=True, timeout=STEP_TIMEOUT, check=True,
        )  # fmt: skip
        measured = int(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mib = decode_budget.MiB
    worst = min(
        decode_budget.DECODE_BUDGET_BYTES,
        80_000_000 * max(decode_budget.OTHER_BYTES_PER_PIXEL, 0),
    )
    print(
        "\nupload memory (one decode, fresh process: peak RSS (VmHWM, reset) above the RSS before)"
    )
    print(
        f"{width}x{height} RGB PNG ({len(data) / 1024:.0f} KiB): estimated"
        f" {estimate / mib:.0f} MiB, measured {measured / mib:.0f} MiB; budget for all decodes"
        f" at once {decode_budget.DECODE_BUDGET_BYTES / mib:.0f} MiB (worst case of one upload:"
        f" {worst / mib:.0f} MiB, anything costlier is refused with 413 before decoding)"
    )
    return {
        "megapixels": megapixels,
        "file_bytes": len(data),
        "estimated_mib": round(estimate / mib),
        "measured_mib": round(measured / mib),
        "budget_mib": round(decode_budget.DECODE_BUDGET_BYTES / mib),
        "ok": estimate >= measured,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--sections", default="faults,concurrency,at_rest,upload")
    parser.add_argument("--rounds", type=int, default=10, help="race rounds of each kind")
    parser.add_argument(
        "--at-rest-library", type=int, default=0, help="faces of others in the at_rest library"
    )
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    figures: dict = {}
    if "concurrency" in sections:
        figures["concurrency"] = concurrency_section(args.rounds)
    if "at_rest" in sections:
        figures["at_rest"] = at_rest_section(args.at_rest_library)
    if "upload" in sections:
        figures["upload"] = upload_section()
    if "faults" not in sections:
        print(json.dumps(figures))
        ok = all(f.get("ok", True) for f in figures.values())
        return 0 if ok else 1
    if not LFW.is_dir():
        print(f"error: {LFW} is missing", file=sys.stderr)
        return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="fault_injection_"))
    work.mkdir(parents=True, exist_ok=True)
    library = work / "library"
    photos = build_library(library, args.photos)
    started = time.perf_counter()

    homes: list[Path] = []

    def fresh(name: str) -> Path:
        home = work / name
        shutil.rmtree(home, ignore_errors=True)
        homes.append(home)
        return home

    clean_home = fresh("clean")
    t0 = time.perf_counter()
    rc, err = finish(ingest(clean_home, library))
    if rc != 0:
        print(f"error: the clean run failed: {err[-2000:]}", file=sys.stderr)
        return 1
    clean = snapshot(clean_home)
    clean_seconds = time.perf_counter() - t0
    print(
        f"clean run: {photos} photos, {clean.images} images, {clean.face_count} faces,"
        f" {clean.embeddings} embeddings, {clean.media_files} files, {clean.clusters} clusters"
        f" in {clean_seconds:.0f} s"
    )
    first_month = (photos + 2) // 3  # images of the first month (m0 gets every third photo)

    outcomes: list[Outcome] = []
    plans = [
        (
            "kill: during detection",
            lambda c: 0 < c["detections"] < first_month,
        ),
        (
            "kill: between detection and embedding",
            lambda c: c["detections"] >= first_month and c["embeddings"] == 0,
        ),
        (
            "kill: during embedding",
            lambda c: 0 < c["embeddings"] < c["faces"],
        ),
    ]
    for name, moment in plans:
        home = fresh(name.split(": ")[1].replace(" ", "_"))
        t0 = time.perf_counter()
        outcome = kill_cli(name, home, library, photos, moment)
        recover(outcome, home, library, clean)
        outcome.seconds = time.perf_counter() - t0
        outcomes.append(outcome)
        stop_server(home)
    home = fresh("identities")
    t0 = time.perf_counter()
    outcome = kill_during_identities(home, library, len(MONTHS))
    recover(outcome, home, library, clean)
    outcome.seconds = time.perf_counter() - t0
    outcomes.append(outcome)
    stop_server(home)
    for name, sig in (("postgres: SIGTERM", signal.SIGTERM), ("postgres: SIGKILL", signal.SIGKILL)):
        home = fresh(name.split(": ")[1].lower())
        t0 = time.perf_counter()
        outcome = stop_database(name, home, library, sig)
        recover(outcome, home, library, clean)
        outcome.seconds = time.perf_counter() - t0
        outcomes.append(outcome)
        stop_server(home)
    t0 = time.perf_counter()
    outcome = forget_and_redetect(clean_home, library, clean)
    outcome.seconds = time.perf_counter() - t0
    outcomes.append(outcome)
    stop_server(clean_home)

    print()
    print(
        f"{'fault':40} {'moment':28} {'ok':>3} {'lost':>5} {'dup':>4} {'orph':>5} {'forg':>5}"
        f" {'s':>5}  notes"
    )
    for o in outcomes:
        print(
            f"{o.name:40} {o.hit[:28]:28} {'yes' if o.recovered else 'NO':>3} {o.lost:>5}"
            f" {o.duplicated:>4} {o.orphans:>5} {o.forgotten_found:>5} {o.seconds:>5.0f}"
            f"  {'; '.join(o.notes)}"
        )
    figures |= {
        "faults": len(outcomes),
        "survived": sum(o.recovered for o in outcomes),
        "lost": sum(o.lost for o in outcomes),
        "duplicated": sum(o.duplicated for o in outcomes),
        "orphans": sum(o.orphans for o in outcomes),
        "forgotten_found": sum(o.forgotten_found for o in outcomes),
        "photos": photos,
        "clean_faces": clean.face_count,
        "clean_clusters": clean.clusters,
        "clean_run_seconds": round(clean_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))
    return 0 if figures["survived"] == figures["faults"] else 1


if __name__ == "__main__":
    sys.exit(main())
