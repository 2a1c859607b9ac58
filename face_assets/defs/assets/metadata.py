"""Small renderers for the metadata a user reads in the Dagster UI."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from dagster import MetadataValue


def counts_table(counts: Mapping[str, int], label: str) -> str:
    if not counts:
        return "none"
    rows = "\n".join(f"| {key} | {value} |" for key, value in sorted(counts.items()))
    return f"| {label} | count |\n| --- | ---: |\n{rows}"


def histogram_table(values: np.ndarray, bins: int = 10, lo: float = 0.0, hi: float = 1.0) -> str:
    if len(values) == 0:
        return "no values"
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    peak = max(int(counts.max()), 1)
    rows = "\n".join(
        f"| {edges[i]:.1f}-{edges[i + 1]:.1f} | {counts[i]} | {'#' * int(40 * counts[i] / peak)} |"
        for i in range(bins)
    )
    return f"| range | faces | |\n| --- | ---: | --- |\n{rows}"


def percentiles(values: np.ndarray, prefix: str) -> dict[str, float]:
    if len(values) == 0:
        return {}
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {
        f"{prefix}_p10": round(float(p10), 4),
        f"{prefix}_median": round(float(p50), 4),
        f"{prefix}_p90": round(float(p90), 4),
    }


def rate(count: int, seconds: float) -> float:
    """Items per second for the UI; 0 when nothing was timed."""
    return round(count / seconds, 2) if seconds > 0 else 0.0


def clusters_preview(clusters: list[dict], app_url: str | None, limit: int) -> str:
    """The largest clusters as a markdown table: id (a link to its review page when the
    app's URL is known), size, mean quality and sample face ids."""
    if not clusters:
        return "no clusters"
    rows = []
    for c in clusters[:limit]:
        name = c["cluster_id"]
        if app_url:
            name = f"[{name}]({app_url.rstrip('/')}/review/clusters/{name})"
        faces = ", ".join(str(f) for f in c["sample_faces"])
        rows.append(f"| {name} | {c['size']} | {c['avg_quality'] or 0:.3f} | {faces} |")
    return "| cluster | faces | mean quality | sample faces |\n| --- | ---: | ---: | --- |\n" + (
        "\n".join(rows)
    )


def review_page(app_url: str | None, path: str) -> dict:
    """A `review_page` link for an asset's metadata when the app's URL is configured."""
    return {"review_page": MetadataValue.url(app_url.rstrip("/") + path)} if app_url else {}
