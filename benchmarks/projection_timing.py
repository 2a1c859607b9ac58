"""Time projection-head training on the standard load: 2,000 faces of 100 people, 50 epochs.

The seed documents quote 30-40 minutes on an RTX 3080 for this load; a 512->256->128 MLP on
2,000 vectors should take seconds, and this script is the evidence either way. Data are
synthetic clusters on the 512-d unit sphere, so it runs anywhere without a photo library.

    .venv/bin/python benchmarks/projection_timing.py            # CPU
    .venv/bin/python benchmarks/projection_timing.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import numpy as np
import torch

from face_assets.identity.projection import EpochStats, TrainingConfig, train_projection_head

FACES = 2000  # the standard load's face count
PEOPLE = 100  # the standard load's person count (20 faces each)
EPOCHS = 50  # the standard load's epoch count
VAL_PEOPLE = 25  # held-out persons scored every epoch, as a real run would (0 disables)
SPREAD = 0.9  # per-face noise norm relative to a unit centre: clusters overlap somewhat
SEED = 0  # fixed so successive runs time the same work


def synthetic_clusters(
    people: int, faces: int, seed: int, first_label: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit 512-d embeddings of ``faces`` faces spread evenly over ``people`` cluster centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 512))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.arange(faces) % people
    x = centres[labels] + SPREAD / np.sqrt(512) * rng.normal(size=(faces, 512))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels + first_label


def peak_rss_mib() -> float:
    """Peak resident set size of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--faces", type=int, default=FACES)
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--val-people", type=int, default=VAL_PEOPLE)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)

    x, y = synthetic_clusters(args.people, args.faces, args.seed)
    val: dict = {}
    val_faces = 0
    if args.val_people:
        val_faces = args.val_people * (args.faces // args.people)
        vx, vy = synthetic_clusters(args.val_people, val_faces, args.seed + 1, first_label=10**6)
        val = {"val_embeddings": vx, "val_labels": vy}
    config = TrainingConfig(epochs=args.epochs, seed=args.seed)
    steps = -(-args.faces // config.batch_size)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; "
        f"{args.faces} faces of {args.people} people (+{val_faces} held-out faces), "
        f"{args.epochs} epochs x {steps} steps of {config.batch_size} faces",
        flush=True,
    )

    def report(e: EpochStats) -> None:
        val_loss = "-" if e.val_loss is None else f"{e.val_loss:.4f}"
        print(
            f"epoch {e.epoch:3d}  loss {e.loss:.4f}  val {val_loss}  {e.seconds:.3f}s", flush=True
        )

    started = time.perf_counter()
    head = train_projection_head(x, y, config, device=args.device, on_epoch=report, **val)
    total = time.perf_counter() - started

    per_epoch = [e.seconds for e in head.history[1:]]
    result = {
        "faces": args.faces,
        "people": args.people,
        "val_faces": val_faces,
        "epochs": args.epochs,
        "device": args.device,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "seconds_total": round(total, 3),
        "seconds_per_epoch": round(statistics.fmean(per_epoch), 4) if per_epoch else None,
        "seconds_per_epoch_median": round(statistics.median(per_epoch), 4) if per_epoch else None,
        "first_loss": round(head.history[0].loss, 4),
        "final_loss": round(head.history[-1].loss, 4),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    if args.device.startswith("cuda"):
        result["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    print(
        f"total {total:.2f}s, {result['seconds_per_epoch']}s per epoch, "
        f"peak RSS {result['peak_rss_mib']} MiB",
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
