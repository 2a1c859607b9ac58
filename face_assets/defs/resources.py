"""Dagster resources: face models, the store and the photo library, each configurable per run."""

from collections.abc import Callable
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from face_assets import defaults
from face_assets.defs.deployment import GPU_RUN_TAG
from face_assets.store import Store
from face_assets.vision import models, packs

NOT_LOADED = "none: nothing new, no model loaded"  # a step's providers when it needed none


class FaceModelsResource(ConfigurableResource):
    """Which InsightFace pack runs, and where: choose providers and device per run."""

    pack: str = Field(default=packs.DEFAULT_PACK, description=f"one of {', '.join(packs.PACKS)}")
    providers: list[str] = Field(
        default=["CPUExecutionProvider"],
        description="ONNX Runtime providers in order, e.g. ['CUDAExecutionProvider']; shorthands"
        " 'cuda', 'tensorrt', 'cpu'. A GPU provider that cannot start fails the run.",
    )
    device_id: int = Field(default=0, description="GPU index for CUDA/TensorRT providers")
    det_size: int = Field(default=models.DEFAULT_DET_SIZE, description="SCRFD input size")
    batch_size: int = Field(
        default=defaults.RECOGNITION_BATCH, description="faces per recognition batch"
    )
    model_root: str = Field(
        default=models.DEFAULT_MODEL_ROOT, description="where buffalo_l is downloaded to"
    )
    allow_download: bool = Field(default=True, description="fetch buffalo_l on first use")
    training_device: str = Field(
        default="cpu",
        description="PyTorch device for projection heads: 'cpu', 'cuda' or 'cuda:N'."
        " A missing GPU fails the run; it never falls back to the CPU.",
    )

    pack_choice: str = Field(
        default="",
        description="why `pack: auto` chose the pack (the selector's requirement and reason);"
        " empty when the pack was named",
    )

    _gpu_run: bool = PrivateAttr(default=False)

    def run_metadata(self, used: models.FaceModels | models.ModelsOnDemand) -> dict[str, str]:
        """Run metadata of the models a step ran: their pack and providers (NOT_LOADED when
        the step had nothing to do and never loaded them), and how the pack was picked
        ('auto' with the selector's reason) when it was not named."""
        loaded = used.loaded if isinstance(used, models.ModelsOnDemand) else used
        providers = NOT_LOADED if loaded is None else ", ".join(loaded.providers)
        found = {"model_pack": used.pack, "providers": providers}
        if self.pack_choice:
            found |= {"pack_selected_by": "auto", "pack_choice": self.pack_choice}
        return found

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """A run tagged face_assets/gpu=true runs its models on the GPU, whatever the config."""
        run = context.dagster_run
        tags = run.tags if run is not None else {}
        self._gpu_run = str(tags.get(GPU_RUN_TAG, "")).strip().lower() == "true"

    def run_providers(self) -> list[str]:
        return ["CUDAExecutionProvider"] if self._gpu_run else list(self.providers)

    def torch_device(self) -> str:
        return f"cuda:{self.device_id}" if self._gpu_run else self.training_device

    def on_demand(self, log: Callable[[str], None] | None = None) -> models.ModelsOnDemand:
        """The run's models, loaded when a step first needs them (`log` then says on what)."""

        def loaded(found: models.FaceModels) -> None:
            if log is not None:
                log(f"pack {found.pack} on {found.providers}")

        return models.ModelsOnDemand(self.pack, self.det_size, self.load, loaded)

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
    """Hands the services a plain Store: an external server by URL, else the embedded one."""

    database_url: str | None = Field(
        default=None, description="postgresql:// URL; empty = embedded server under home"
    )
    home: str = Field(description="embedded database, media and models")

    def get(self) -> Store:
        return Store(self.database_url, self.home)


class PhotoLibraryResource(ConfigurableResource):
    """The photo library root; nothing outside it is ever read."""

    root: str = Field(description="folder of photos (subfolders allowed)")

    @property
    def root_path(self) -> Path:
        return Path(self.root).expanduser().resolve()
