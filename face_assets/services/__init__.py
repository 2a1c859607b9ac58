"""The work behind every asset, CLI verb and endpoint, on a plain Store: one place per task."""
