"""Face tags people already have: XMP written by exiftool read by us (face_tags), ours
written into a sidecar read by exiftool (xmp_sidecar), Picasa's rectangles, and hostile XML
refused with a reason by both."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from face_assets.vision import face_tags, xmp_sidecar
from face_assets.vision.face_tags import TagRegion, TagsRejected
from face_assets_tests.conftest import FACES_REAL

PHOTO = FACES_REAL / "alex_lacamoire" / "1.jpg"  # 874 x 1200


@pytest.fixture(scope="module")
def exiftool() -> str:
    path = shutil.which("exiftool")
    if path is None:
        pytest.fail(
            "exiftool is missing: `make system-deps` installs Debian's libimage-exiftool-perl"
        )
    return path


def _exiftool_json(exiftool: str, path) -> dict:
    out = subprocess.run(
        [exiftool, "-struct", "-j", str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)[0]


def test_mwg_and_mp_regions_written_by_exiftool_are_read(exiftool, tmp_path):
    photo = tmp_path / "p.jpg"
    shutil.copy(PHOTO, photo)
    args = tmp_path / "args.txt"  # an argument file: no shell quoting of the struct syntax
    args.write_text(
        "-RegionInfo={AppliedToDimensions={W=874,H=1200,Unit=pixel},RegionList=["
        "{Area={W=0.2,H=0.3,X=0.5,Y=0.4,Unit=normalized},Name=Alex Lacamoire,Type=Face},"
        "{Area={W=0.1,H=0.1,X=0.2,Y=0.2,Unit=normalized},Name=Rex,Type=Pet}]}\n"
        "-RegionInfoMP={Regions=[{Rectangle=0.1|, 0.1|, 0.2|, 0.25,PersonDisplayName=Lin}]}\n"
    )
    sidecar = tmp_path / "p.jpg.xmp"
    subprocess.run([exiftool, "-q", "-@", str(args), "-o", str(sidecar), str(photo)], check=True)
    subprocess.run([exiftool, "-q", "-overwrite_original", "-@", str(args), str(photo)], check=True)
    for data in (sidecar.read_bytes(), face_tags.embedded_xmp(photo.read_bytes())):
        regions = face_tags.xmp_regions(data)
        by_name = {r.name: r for r in regions}
        assert set(by_name) == {"Alex Lacamoire", "Lin"}  # the pet is not a face
        assert by_name["Alex Lacamoire"].box == pytest.approx((0.4, 0.25, 0.6, 0.55))
        assert by_name["Alex Lacamoire"].origin == face_tags.ORIGIN_MWG
        assert by_name["Lin"].box == pytest.approx((0.1, 0.1, 0.3, 0.35))
        assert by_name["Lin"].origin == face_tags.ORIGIN_MP


def test_our_sidecar_is_read_by_exiftool_and_merges_an_existing_one(exiftool, tmp_path):
    photo = tmp_path / "p.jpg"
    shutil.copy(PHOTO, photo)
    sidecar = tmp_path / "p.jpg.xmp"
    subprocess.run(
        [exiftool, "-q", "-o", str(sidecar), "-XMP-dc:Subject=holiday", "-Rating=4",
         "-RegionInfo={RegionList=[{Area={W=0.1,H=0.1,X=0.8,Y=0.8,Unit=normalized},"
         "Name=Old Friend,Type=Face},{Area={W=0.2,H=0.2,X=0.5,Y=0.4,Unit=normalized},"
         "Name=Wrong Name,Type=Face}]}", str(photo)],
        check=True,
    )  # fmt: skip
    before = photo.read_bytes()
    ours = [TagRegion((0.4, 0.3, 0.6, 0.5), "Alex Lacamoire", face_tags.ORIGIN_MWG)]
    update = xmp_sidecar.merged_sidecar(sidecar.read_bytes(), ours, 874, 1200)
    assert update.added == ["Alex Lacamoire"] and update.removed == ["Wrong Name"]
    sidecar.write_bytes(update.content)
    seen = _exiftool_json(exiftool, sidecar)
    names = sorted(r["Name"] for r in seen["RegionInfo"]["RegionList"])
    assert names == ["Alex Lacamoire", "Old Friend"]  # ours replaced the overlapping one
    assert seen["Subject"] in ("holiday", ["holiday"]) and seen["Rating"] == 4  # rest kept
    assert seen["RegionInfo"]["AppliedToDimensions"]["W"] == 874
    mine = next(r for r in seen["RegionInfo"]["RegionList"] if r["Name"] == "Alex Lacamoire")
    assert (mine["Area"]["X"], mine["Area"]["Y"], mine["Area"]["W"]) == pytest.approx(
        (0.5, 0.4, 0.2)
    )
    assert photo.read_bytes() == before  # never the original
    # Writing the same names again changes nothing; forgetting a name removes only it.
    again = xmp_sidecar.merged_sidecar(update.content, ours, 874, 1200)
    assert not again.changed
    forgot = xmp_sidecar.merged_sidecar(
        update.content, [], 874, 1200, frozenset({"Alex Lacamoire"})
    )
    assert forgot.removed == ["Alex Lacamoire"]
    assert [r.name for r in face_tags.xmp_regions(forgot.content)] == ["Old Friend"]


def test_picasa_ini_rectangles_with_names():
    ini = (
        b"[Contacts2]\n"
        b"a1b2c3=Grace Hopper;;\n"
        b"[IMG_0001.jpg]\n"
        b"faces=rect64(3f845bcb59418507),a1b2c3;rect64(8000800090009000),ffffffffffffffff\n"
        b"[IMG_0002.jpg]\n"
        b"faces=rect64(1000100020002000),d4e5\n"
    )
    contacts = face_tags.picasa_contacts(
        b'<contacts><contact id="d4e5" name="Alan Turing" display=""/></contacts>'
    )
    regions = face_tags.picasa_regions(ini, contacts)
    first = regions["IMG_0001.jpg"]
    assert first[0].name == "Grace Hopper" and first[1].name is None
    assert first[0].box == pytest.approx(
        (0x3F84 / 65535, 0x5BCB / 65535, 0x5941 / 65535, 0x8507 / 65535)
    )
    assert regions["IMG_0002.jpg"][0].name == "Alan Turing"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
 mwg-rs:Name="&lol3;"/></rdf:RDF></x:xmpmeta>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/">&secret;</x:xmpmeta>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BILLION_LAUGHS, face_tags.REASON_FORBIDDEN_XML),
        (XXE, face_tags.REASON_FORBIDDEN_XML),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed>", face_tags.REASON_MALFORMED),
        (b"<x:xmpmeta>" + b" " * (face_tags.MAX_XMP_BYTES + 1), face_tags.REASON_TOO_LARGE),
    ],
    ids=["billion-laughs", "xxe", "malformed", "too-large"],
)
def test_hostile_xmp_is_refused_with_a_reason(data, reason):
    with pytest.raises(TagsRejected) as exc:
        face_tags.xmp_regions(data)
    assert exc.value.reason == reason
    with pytest.raises(TagsRejected):  # and never merged into a sidecar we write
        xmp_sidecar.merged_sidecar(data, [], 10, 10)
