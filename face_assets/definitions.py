"""The one Definitions of the face_assets code location (named by workspace.yaml, the
Dockerfile and the Helm values). Importing this module builds it from the environment;
code that wants Definitions for other settings calls defs/code_location.build_definitions."""

from face_assets.defs.code_location import build_definitions, store_resource

__all__ = ["build_definitions", "defs", "store_resource"]

defs = build_definitions()
