"""The HTTP app: REST API (seed 002, with the People and video endpoints), stateless
detection service (seed 001), embedding jobs (seed 000), recognition API (seed 003), review
page."""

from face_assets.api.app import create_app

__all__ = ["create_app"]
