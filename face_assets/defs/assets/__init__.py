"""The asset modules; each exports ASSETS and CHECKS the same way (monthly.py and metadata.py
are what they share: the monthly declaration and the UI's tables)."""

from face_assets.defs.assets import faces, identities, photos, projection, videos

_MODULES = (photos, faces, identities, projection, videos)
ASSETS = [asset for module in _MODULES for asset in module.ASSETS]
CHECKS = [check for module in _MODULES for check in module.CHECKS]
