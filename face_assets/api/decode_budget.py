"""What an upload may cost in memory, bounded before it is decoded (issue 18).

A small compressed file can hold a huge image (a 154 KB PNG of 79 MP). Before decoding, the
header gives width, height and mode; the decode's peak memory is estimated as pixels times
the measured peak bytes per pixel of that mode, and the request waits until that much of the
app's decode budget is free (held until its answer is built), or is refused with 413 when it
alone is over the budget. So all uploads decoding and analysing at once stay within
DECODE_BUDGET_BYTES, whatever they are.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from face_assets.vision.decode import read_header

MiB = 1024 * 1024
# Peak resident memory of decoding to upright BGR, bytes per pixel, by PIL mode: measured on
# 40 MP images (ru_maxrss of a fresh process around services.analysis.decode; PIL's buffer
# plus the RGB array and the BGR copy), rounded up by one byte for headroom.
PEAK_BYTES_PER_PIXEL = {
    "RGB": 11,  # measured 10.1 (PNG and JPEG)
    "YCbCr": 11,
    "L": 12,  # measured 11.1 (also P and 1)
    "P": 12,
    "1": 12,
    "CMYK": 15,  # measured 14.1 (JPEG)
    "LA": 23,  # measured 22.1 (alpha flattened through RGBA; also RGBA)
    "PA": 23,
    "RGBA": 23,
    "I;16": 27,  # measured 26.1 (16-bit grey through float64)
}
OTHER_BYTES_PER_PIXEL = 35  # any other mode (I, F: 32-bit through float64): the worst case
# All uploads decoding at once: one 80 MP RGB photo (880 MB) fits, one 80 MP RGBA PNG
# (1.8 GB) does not; the server's resident size grows by at most this beyond the models.
DECODE_BUDGET_BYTES = 1536 * MiB


class TooCostly(Exception):
    def __init__(self, cost: int, budget: int) -> None:
        super().__init__(
            f"decoding this image needs about {cost // MiB} MiB, over the server's decode budget"
            f" of {budget // MiB} MiB: send it with fewer pixels"
        )


def decode_cost(data: bytes) -> int:
    """Estimated peak bytes of decoding this upload (ImageRejected for a non-image)."""
    header = read_header(data)
    per_pixel = PEAK_BYTES_PER_PIXEL.get(header.mode, OTHER_BYTES_PER_PIXEL)
    return int(header.width) * int(header.height) * per_pixel


class DecodeBudget:
    """A byte-counting semaphore: reserve(cost) waits until cost fits beside the others."""

    def __init__(self, budget: int = DECODE_BUDGET_BYTES) -> None:
        self.budget = budget
        self.used = 0
        self.peak = 0
        self._free = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def reserve(self, cost: int) -> AsyncIterator[None]:
        if cost > self.budget:
            raise TooCostly(cost, self.budget)
        async with self._free:
            await self._free.wait_for(lambda: self.used + cost <= self.budget)
            self.used += cost
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            async with self._free:
                self.used -= cost
                self._free.notify_all()
