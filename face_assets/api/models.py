"""The face models of the app: loaded once per process, every call through one semaphore.

ONNX Runtime sessions already use every core; two calls at once keep the CPU busy while a
third decodes, and more would only multiply memory (a 80 MP photo is 240 MB of pixels). A
burst of uploads therefore queues on the semaphore instead of exhausting memory.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from face_assets.settings import DEFAULT_MODEL_CONCURRENCY, DEFAULT_PROVIDERS
from face_assets.vision.models import FaceModels, load_face_models

T = TypeVar("T")


class ModelService:
    """A pack's models, loaded on first use (or at start), behind a semaphore."""

    def __init__(
        self,
        pack: str,
        providers: tuple[str, ...] = DEFAULT_PROVIDERS,
        concurrency: int = DEFAULT_MODEL_CONCURRENCY,
        det_size: int | None = None,
        model_root: Path | None = None,
    ) -> None:
        self.pack = pack
        self.providers = providers
        # Seed 001's DET_SIZE and MODEL_CACHE_DIR; None keeps the loader's defaults.
        self.options = {
            k: v
            for k, v in {"det_size": det_size, "model_root": model_root and str(model_root)}.items()
            if v is not None
        }
        self.concurrency = concurrency
        self._models: FaceModels | None = None
        self._lock = threading.Lock()
        self._semaphore: asyncio.Semaphore | None = None
        self.waiting = 0  # calls queued on the semaphore now (for /health and tests)

    @property
    def loaded(self) -> FaceModels | None:
        return self._models

    def load(self) -> FaceModels:
        with self._lock:
            if self._models is None:
                self._models = load_face_models(self.pack, self.providers, **self.options)
            return self._models

    async def run(self, work: Callable[[FaceModels], T]) -> T:
        """Run `work(models)` in a worker thread once a model slot is free."""
        if self._semaphore is None:  # created inside the server's event loop
            self._semaphore = asyncio.Semaphore(self.concurrency)
        self.waiting += 1
        acquired = False
        try:
            async with self._semaphore:
                self.waiting -= 1
                acquired = True
                models = self._models or await run_in_threadpool(self.load)
                return await run_in_threadpool(work, models)
        finally:
            if not acquired:  # cancelled (client gone) while waiting for a slot
                self.waiting -= 1
