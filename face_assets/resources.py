"""Dagster resources: face models, the store and the photo library, each configurable per run."""

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from face_assets.deployment import GPU_RUN_TAG
from face_assets.store import db
from face_assets.vision import models

# Faces per ArcFace batch: measured on this 2-core CPU with w600k_mbf, 7.3 ms/face at 8-16,
# 8.2 at 32, 10.3 one at a time (benchmarks/ingest.py notes); GPUs want larger batches.
RECOGNITION_BATCH = 16
HOME_ENV = "FACE_ASSETS_HOME"
DEFAULT_HOME = "~/.face_assets"  # embedded database, media and sample library live here
LIBRARY_ENV = "FACE_ASSETS_LIBRARY"

# Resolved, migrated database URLs per process, keyed by the configured URL or the embedded
# data directory: every transaction asks, and the embedded lookup opens a connection.
_ready_urls: dict[str, str] = {}
_url_lock = threading.Lock()


def default_home() -> str:
    return os.environ.get(HOME_ENV, DEFAULT_HOME)


class FaceModelsResource(ConfigurableResource):
    """Which InsightFace pack runs, and where: choose providers and device per run."""

    pack: str = Field(default=models.DEFAULT_PACK, description="buffalo_s (offline) or buffalo_l")
    providers: list[str] = Field(
        default=["CPUExecutionProvider"],
        description="ONNX Runtime providers in order, e.g. ['CUDAExecutionProvider']; shorthands"
        " 'cuda', 'tensorrt', 'cpu'. A GPU provider that cannot start fails the run.",
    )
    device_id: int = Field(default=0, description="GPU index for CUDA/TensorRT providers")
    det_size: int = Field(default=models.DEFAULT_DET_SIZE, description="SCRFD input size")
    batch_size: int = Field(default=RECOGNITION_BATCH, description="faces per recognition batch")
    model_root: str = Field(
        default=models.DEFAULT_MODEL_ROOT, description="where buffalo_l is downloaded to"
    )
    allow_download: bool = Field(default=True, description="fetch buffalo_l on first use")
    training_device: str = Field(
        default="cpu",
        description="PyTorch device for projection heads: 'cpu', 'cuda' or 'cuda:N'."
        " A missing GPU fails the run; it never falls back to the CPU.",
    )

    _gpu_run: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """A run tagged face_assets/gpu=true runs its models on the GPU, whatever the config."""
        run = context.dagster_run
        tags = run.tags if run is not None else {}
        self._gpu_run = str(tags.get(GPU_RUN_TAG, "")).strip().lower() == "true"

    def run_providers(self) -> list[str]:
        return ["CUDAExecutionProvider"] if self._gpu_run else list(self.providers)

    def torch_device(self) -> str:
        return f"cuda:{self.device_id}" if self._gpu_run else self.training_device

    def load(self) -> models.FaceModels:
        return models.load_face_models(
            pack=self.pack,
            providers=tuple(self.run_providers()),
            device_id=self.device_id,
            det_size=self.det_size,
            model_root=self.model_root,
            download=self.allow_download,
        )


class FaceStoreResource(ConfigurableResource):
    """PostgreSQL + pgvector: an external server by URL, else the embedded one under home."""

    database_url: str | None = Field(
        default=None, description="postgresql:// URL; empty = embedded server under home"
    )
    home: str = Field(default_factory=default_home, description="embedded data, media, models")

    @property
    def home_path(self) -> Path:
        return Path(self.home).expanduser().resolve()

    @property
    def media_root(self) -> Path:
        return self.home_path / "media"

    def url(self) -> str:
        """The database URL, starting the embedded server and migrating once per process."""
        key = self.database_url or str(self.home_path / "pgdata")
        with _url_lock:
            if key not in _ready_urls:
                url = self.database_url or db.embedded_database_url(self.home_path / "pgdata")
                db.migrate(url)
                _ready_urls[key] = url
            return _ready_urls[key]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        with db.transaction(self.url()) as conn:
            yield conn


class PhotoLibraryResource(ConfigurableResource):
    """The photo library root; nothing outside it is ever read."""

    root: str = Field(description="folder of photos (subfolders allowed)")

    @property
    def root_path(self) -> Path:
        return Path(self.root).expanduser().resolve()
