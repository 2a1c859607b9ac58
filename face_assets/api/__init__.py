"""The HTTP app: REST API (seed 002), stateless detection service (seed 001), review page."""

from face_assets.api.app import create_app

__all__ = ["create_app"]
