"""The face tags people already have: XMP regions (MWG, Microsoft Photo) and Picasa's rectangles.

Years of Picasa, Lightroom, digiKam or Windows Photo tagging live in the files: XMP embedded in
the photo or in a sidecar (`photo.jpg.xmp` / `photo.xmp`) and Picasa's `.picasa.ini`. This
module reads them into normalised boxes with names. It also holds what reading and writing
share: the hardened parse_xml, the XMP namespaces and their accessors, TagRegion and the
reasons a tag file is refused; xmp_sidecar.py writes our names back as MWG regions with them.

XML from a photo library is untrusted: parsing goes through defusedxml with DTDs, entities and
external references forbidden (a billion-laughs or XXE file is refused with a reason), after a
size limit. Pure code: no Dagster, no SQL, no file system (callers pass bytes).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

import defusedxml
import defusedxml.ElementTree as SafeET

from face_assets.errors import Rejected

# Limits on what a tag file may cost (ours; XMP packets in JPEG are at most 64 KiB, extended
# XMP and sidecars with edit history reach a few hundred KiB).
MAX_XMP_BYTES = 4 * 1024 * 1024
MAX_PICASA_BYTES = 4 * 1024 * 1024
MAX_REGIONS = 1000  # per photo: more is not a family photo's tags

# Stable reason codes for tag files we refuse (counted as "unreadable" in run metadata).
REASON_TOO_LARGE = "tags_too_large"
REASON_FORBIDDEN_XML = "tags_forbidden_xml"  # DTD, entity declarations, external references
REASON_MALFORMED = "tags_malformed"

ORIGIN_MWG, ORIGIN_MP, ORIGIN_PICASA = "mwg", "mp", "picasa"

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


class TagsRejected(Rejected):
    """A tag file we refuse to read, with a stable reason."""


@dataclass(frozen=True)
class TagRegion:
    """A face region: normalised x1, y1, x2, y2 (0..1 of the upright photo) and a name."""

    box: tuple[float, float, float, float]
    name: str | None
    origin: str

    @property
    def key(self) -> str:
        """The region's identity within its file: the box rounded to 1e-4."""
        return ",".join(f"{v:.4f}" for v in self.box)

    def pixels(self, width: int, height: int) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = self.box
        return x1 * width, y1 * height, x2 * width, y2 * height


def qname(prefix: str, name: str) -> str:
    """ElementTree's {namespace}name for an XMP prefix we know (NS)."""
    return f"{{{NS[prefix]}}}{name}"


def _clamped(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float, float, float]:
    x1, x2 = sorted((min(max(x1, 0.0), 1.0), min(max(x2, 0.0), 1.0)))
    y1, y2 = sorted((min(max(y1, 0.0), 1.0), min(max(y2, 0.0), 1.0)))
    return x1, y1, x2, y2


def parse_xml(data: bytes, limit: int = MAX_XMP_BYTES) -> ET.Element:
    """Hardened parse: size limit first, then no DTD, no entities, no external references."""
    if len(data) > limit:
        raise TagsRejected(REASON_TOO_LARGE, f"{len(data)} bytes exceeds {limit}")
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (
        defusedxml.DTDForbidden,
        defusedxml.EntitiesForbidden,
        defusedxml.ExternalReferenceForbidden,
    ) as exc:
        raise TagsRejected(REASON_FORBIDDEN_XML, type(exc).__name__) from exc
    except (ET.ParseError, ValueError) as exc:
        raise TagsRejected(REASON_MALFORMED, str(exc)) from exc


_XMP_START = re.compile(rb"<x:xmpmeta[\s>]")
_XMP_END = b"</x:xmpmeta>"


def embedded_xmp(data: bytes, limit: int = MAX_XMP_BYTES) -> bytes | None:
    """The XMP packet inside a photo's bytes (JPEG APP1, PNG iTXt, TIFF, HEIF), if any.

    XMP is plain UTF-8 text in every container, so a bounded search finds it without a
    container parser.
    """
    match = _XMP_START.search(data)
    if match is None:
        return None
    end = data.find(_XMP_END, match.start(), match.start() + limit + len(_XMP_END))
    if end < 0:
        raise TagsRejected(REASON_TOO_LARGE, "embedded XMP packet without end within the limit")
    return data[match.start() : end + len(_XMP_END)]


def value_of(element: ET.Element, prefix: str, name: str) -> str | None:
    """An XMP simple property, written as an attribute or as a child element."""
    qualified = qname(prefix, name)
    if qualified in element.attrib:
        return element.attrib[qualified]
    child = element.find(qualified)
    if child is None:
        return None
    if child.text and child.text.strip():
        return child.text.strip()
    # rdf:Alt / rdf:Bag holding one value (some writers wrap names in a language alternative)
    li = child.find(f".//{qname('rdf', 'li')}")
    return li.text.strip() if li is not None and li.text else None


def struct_of(element: ET.Element, prefix: str, name: str) -> ET.Element | None:
    """An XMP struct property: the child itself, or its rdf:Description (parseType forms)."""
    child = element.find(qname(prefix, name))
    if child is None:
        return None
    description = child.find(qname("rdf", "Description"))
    return description if description is not None else child


def items_of(element: ET.Element | None) -> list[ET.Element]:
    """The rdf:li of a Bag/Seq property, each as the element holding its fields."""
    if element is None:
        return []
    items = []
    for container in element:
        if container.tag not in (qname("rdf", "Bag"), qname("rdf", "Seq")):
            continue
        for li in container.findall(qname("rdf", "li")):
            description = li.find(qname("rdf", "Description"))
            items.append(description if description is not None else li)
    return items


def float_of(text: str | None) -> float | None:
    """A region coordinate as a float; None when missing or not a number."""
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def structs_of(root: ET.Element, prefix: str, name: str) -> Iterator[ET.Element]:
    """Every prefix:name struct of the packet, whichever element holds it."""
    for holder in root.iter():
        info = struct_of(holder, prefix, name)
        if info is not None:
            yield info


def mwg_regions(root: ET.Element) -> list[TagRegion]:
    """The MWG face regions (mwg-rs:RegionList) of an XMP packet, normalised boxes with names."""
    regions = []
    for info in structs_of(root, "mwg-rs", "Regions"):
        dims = struct_of(info, "mwg-rs", "AppliedToDimensions")
        dim_w = float_of(value_of(dims, "stDim", "w")) if dims is not None else None
        dim_h = float_of(value_of(dims, "stDim", "h")) if dims is not None else None
        for item in items_of(struct_of(info, "mwg-rs", "RegionList")):
            kind = value_of(item, "mwg-rs", "Type")
            if kind is not None and kind.lower() != "face":
                continue  # pets, barcodes, focus areas
            area = struct_of(item, "mwg-rs", "Area")
            if area is None:
                continue
            x, y, w, h = (float_of(value_of(area, "stArea", k)) for k in ("x", "y", "w", "h"))
            if None in (x, y, w, h) or w <= 0 or h <= 0:
                continue
            unit = (value_of(area, "stArea", "unit") or "normalized").lower()
            if unit == "pixel":  # rare; needs the applied-to dimensions
                if not dim_w or not dim_h:
                    continue
                x, w, y, h = x / dim_w, w / dim_w, y / dim_h, h / dim_h
            # MWG: stArea x, y are the centre of the region.
            box = _clamped(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            name = value_of(item, "mwg-rs", "Name")
            regions.append(TagRegion(box, name or None, ORIGIN_MWG))
    return regions


def _mp_regions(root: ET.Element) -> list[TagRegion]:
    regions = []
    for info in structs_of(root, "MP", "RegionInfo"):
        for item in items_of(struct_of(info, "MPRI", "Regions")):
            rect = value_of(item, "MPReg", "Rectangle")
            if not rect:
                continue
            parts = [float_of(p.strip()) for p in rect.split(",")]
            if len(parts) != 4 or None in parts or parts[2] <= 0 or parts[3] <= 0:
                continue
            x, y, w, h = parts  # MP: top-left corner, width, height (normalised)
            name = value_of(item, "MPReg", "PersonDisplayName")
            regions.append(TagRegion(_clamped(x, y, x + w, y + h), name or None, ORIGIN_MP))
    return regions


def xmp_regions(xmp: bytes) -> list[TagRegion]:
    """Face regions of an XMP packet or sidecar: MWG regions and Microsoft Photo regions.

    A photo tagged by both (Windows writes both) yields both; callers match them to faces
    by overlap, so a face named twice is still one face.
    """
    root = parse_xml(xmp)
    regions = mwg_regions(root) + _mp_regions(root)
    if len(regions) > MAX_REGIONS:
        raise TagsRejected(REASON_TOO_LARGE, f"{len(regions)} regions exceeds {MAX_REGIONS}")
    return regions


# --- Picasa ------------------------------------------------------------------------------------

_RECT64 = re.compile(r"rect64\(([0-9a-fA-F]{1,16})\)")


def _rect64(text: str) -> tuple[float, float, float, float] | None:
    """Picasa's rect64: 16 hex digits, four 16-bit fractions left, top, right, bottom."""
    match = _RECT64.fullmatch(text.strip())
    if match is None:
        return None
    digits = match.group(1).rjust(16, "0")
    left, top, right, bottom = (int(digits[i : i + 4], 16) / 65535.0 for i in range(0, 16, 4))
    if right <= left or bottom <= top:
        return None
    return _clamped(left, top, right, bottom)


def picasa_contacts(data: bytes) -> dict[str, str]:
    """contacts.xml (Picasa 3): contact id -> name."""
    root = parse_xml(data, MAX_PICASA_BYTES)
    return {
        c.attrib["id"]: c.attrib["name"]
        for c in root.iter("contact")
        if c.attrib.get("id") and c.attrib.get("name")
    }


def picasa_regions(
    ini: bytes, contacts: dict[str, str] | None = None
) -> dict[str, list[TagRegion]]:
    """Face rectangles of a `.picasa.ini`, by file name; names from its [Contacts2] section
    or contacts.xml. A rectangle whose contact has no name is kept unnamed (ffffffffffffffff
    is Picasa's "unknown person")."""
    if len(ini) > MAX_PICASA_BYTES:
        raise TagsRejected(REASON_TOO_LARGE, f"{len(ini)} bytes exceeds {MAX_PICASA_BYTES}")
    text = ini.decode("utf-8", errors="replace")
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    names = dict(contacts or {})
    for contact_id, value in sections.get("Contacts2", {}).items():
        name = value.split(";")[0].strip()
        if name:
            names.setdefault(contact_id, name)
    found: dict[str, list[TagRegion]] = {}
    for file_name, fields in sections.items():
        faces = fields.get("faces")
        if not faces:
            continue
        regions = []
        for entry in faces.split(";"):
            rect, _, contact = entry.partition(",")
            box = _rect64(rect)
            if box is None:
                continue
            regions.append(TagRegion(box, names.get(contact.strip()), ORIGIN_PICASA))
        if len(regions) > MAX_REGIONS:
            raise TagsRejected(REASON_TOO_LARGE, f"{file_name}: {len(regions)} regions")
        found[file_name] = regions
    return found
