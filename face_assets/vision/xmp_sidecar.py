"""Our names written back as MWG face regions into a photo's XMP sidecar, never into the photo.

Export and forgetting need the opposite of face_tags.py's reading: an existing sidecar merged
with our regions (other schemas and non-face regions kept, an overlapping face region replaced,
a forgotten person's removed) and the names that changed, so a run writes only files whose
tags moved. Kept apart from the reading so each module holds one direction; it builds on
face_tags.py's hardened parse, namespaces and MWG reader (that module never imports this one).
Pure code: no Dagster, no SQL, no file system (callers pass and write bytes).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from face_assets.vision.face_tags import (
    ORIGIN_MWG,
    REASON_MALFORMED,
    TagRegion,
    TagsRejected,
    float_of,
    items_of,
    mwg_regions,
    parse_xml,
    qname,
    struct_of,
    structs_of,
    value_of,
)

_EMPTY_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
    ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF></x:xmpmeta>'
)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _region_element(region: TagRegion) -> ET.Element:
    li = ET.Element(qname("rdf", "li"), {qname("rdf", "parseType"): "Resource"})
    x1, y1, x2, y2 = region.box
    area = ET.SubElement(li, qname("mwg-rs", "Area"), {qname("rdf", "parseType"): "Resource"})
    for key, value in (
        ("x", (x1 + x2) / 2),
        ("y", (y1 + y2) / 2),
        ("w", x2 - x1),
        ("h", y2 - y1),
    ):
        ET.SubElement(area, qname("stArea", key)).text = f"{value:.6f}"
    ET.SubElement(area, qname("stArea", "unit")).text = "normalized"
    ET.SubElement(li, qname("mwg-rs", "Name")).text = region.name or ""
    ET.SubElement(li, qname("mwg-rs", "Type")).text = "Face"
    return li


def _regions_node(regions: list[TagRegion], width: int, height: int) -> ET.Element:
    node = ET.Element(qname("mwg-rs", "Regions"), {qname("rdf", "parseType"): "Resource"})
    dims = ET.SubElement(
        node, qname("mwg-rs", "AppliedToDimensions"), {qname("rdf", "parseType"): "Resource"}
    )
    ET.SubElement(dims, qname("stDim", "w")).text = str(width)
    ET.SubElement(dims, qname("stDim", "h")).text = str(height)
    ET.SubElement(dims, qname("stDim", "unit")).text = "pixel"
    bag = ET.SubElement(ET.SubElement(node, qname("mwg-rs", "RegionList")), qname("rdf", "Bag"))
    for region in regions:
        bag.append(_region_element(region))
    return node


@dataclass(frozen=True)
class SidecarUpdate:
    """The sidecar text to write, and what changed in its face regions."""

    content: bytes
    regions: list[TagRegion]  # the MWG face regions the sidecar holds afterwards
    added: list[str]
    removed: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def _detach_mwg(root: ET.Element) -> tuple[ET.Element, list[TagRegion]]:
    """Remove every mwg-rs:Regions from the tree; the rdf:Description to put ours into and
    the face regions that were there."""
    existing = mwg_regions(root)
    target = None
    for holder in list(root.iter()):
        for child in list(holder):
            if child.tag == qname("mwg-rs", "Regions"):
                holder.remove(child)
                target = target if target is not None else holder
    if target is None:
        rdf = root if root.tag == qname("rdf", "RDF") else root.find(f".//{qname('rdf', 'RDF')}")
        if rdf is None:
            raise TagsRejected(REASON_MALFORMED, "XMP without rdf:RDF")
        target = ET.SubElement(rdf, qname("rdf", "Description"), {qname("rdf", "about"): ""})
    return target, existing


SAME_REGION_IOU = 0.9  # a region of the same name moved less than this is the same tag


def _name_changes(before: list[TagRegion], after: list[TagRegion]) -> tuple[list[str], list[str]]:
    """Names added and removed, pairing regions of one name that overlap by SAME_REGION_IOU
    (a box re-expressed by another tool, rounded differently, is no change)."""
    unpaired = list(before)
    added = []
    for region in after:
        twin = next(
            (
                r
                for r in unpaired
                if (r.name or "") == (region.name or "")
                and _iou(r.box, region.box) >= SAME_REGION_IOU
            ),
            None,
        )
        if twin is None:
            added.append(region.name or "")
        else:
            unpaired.remove(twin)
    return sorted(added), sorted(r.name or "" for r in unpaired)


def _applied_dimensions(root: ET.Element) -> tuple[int, int]:
    for info in structs_of(root, "mwg-rs", "Regions"):
        dims = struct_of(info, "mwg-rs", "AppliedToDimensions")
        if dims is not None:
            w, h = float_of(value_of(dims, "stDim", "w")), float_of(value_of(dims, "stDim", "h"))
            if w and h:
                return int(w), int(h)
    return 0, 0


def merged_sidecar(
    existing: bytes | None,
    ours: list[TagRegion],
    width: int | None,
    height: int | None,
    drop_names: frozenset[str] = frozenset(),
) -> SidecarUpdate:
    """An XMP sidecar holding our face regions, merged into `existing` (None: a new file).

    Everything else in the existing sidecar is kept (other schemas, non-face regions are
    dropped only if they were MWG face regions replaced by ours). An existing face region
    overlapping one of ours (IoU >= 0.5) is replaced by ours; the others are kept, except
    those named in `drop_names` (forgetting a person). Without width and height the
    existing applied-to dimensions are kept.
    """
    root = parse_xml(existing) if existing else ET.fromstring(_EMPTY_XMP)
    if width is None or height is None:
        width, height = _applied_dimensions(root)
    non_face: list[ET.Element] = []
    for info in structs_of(root, "mwg-rs", "Regions"):
        for item in items_of(struct_of(info, "mwg-rs", "RegionList")):
            kind = value_of(item, "mwg-rs", "Type")
            if kind is not None and kind.lower() != "face":
                non_face.append(item)
    target, before = _detach_mwg(root)
    kept = [
        r
        for r in before
        if (r.name or "") not in drop_names and all(_iou(r.box, o.box) < 0.5 for o in ours)
    ]
    after = kept + [TagRegion(o.box, o.name, ORIGIN_MWG) for o in ours]
    node = _regions_node(after, width, height)
    bag = node.find(f"{qname('mwg-rs', 'RegionList')}/{qname('rdf', 'Bag')}")
    for item in non_face:
        li = ET.SubElement(bag, qname("rdf", "li"), {qname("rdf", "parseType"): "Resource"})
        li.extend(list(item))
    target.append(node)
    added, removed = _name_changes(before, after)
    content = b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    content += ET.tostring(root, encoding="utf-8", xml_declaration=False)
    content += b'\n<?xpacket end="w"?>\n'
    return SidecarUpdate(content, after, added, removed)
