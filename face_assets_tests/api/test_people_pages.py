"""The People pages in a real Chromium (playwright), doing what a user does, each result checked
in the store: mark a false face and re-run detection, undo it; draw a box and name it; set a
cover face; set a birthdate and see an earlier photo refused; search with an uploaded photo;
filter photos of two people; and the phone layout. One server and one browser for the module
(each test works on its own persons); set FACE_ASSETS_SCREENSHOTS=DIR to keep screenshots."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from face_assets.api import create_app
from face_assets.defs.launcher import DagsterRuns
from face_assets.services import face_detection, labels, person_profiles
from face_assets.store import Store
from face_assets_tests.api.conftest import (
    PACK,
    TOKEN,
    Live,
    date_photos,
    faces_of,
    group_photo,
    one_row,
    start,
    stop,
)

PHONE = {"width": 390, "height": 844}  # an iPhone 12-14's CSS pixels


@pytest.fixture(scope="module")
def site(real_library, pg_server, tmp_path_factory, face_models):
    """One app on a private copy of the ingested library, for the whole module."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (real_library.base_db,),
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(real_library.base_db)
            )
        )
    home = tmp_path_factory.mktemp("people_site") / "home"
    shutil.copytree(real_library.base_home / "media", home / "media")
    store = Store(pg_server.get_uri(name), home)
    app = create_app(store, PACK, TOKEN, runs=DagsterRuns(), library_root=real_library.root)
    server, thread, port = start(app)
    try:
        yield Live(f"http://127.0.0.1:{port}", port, store, app, [], [])
    finally:
        stop(server, thread)


def _tab(browser, site, **options):
    context = browser.new_context(base_url=site.url, **options)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(f"/?token={TOKEN}")
    return context, tab


@pytest.fixture
def page(browser, site):
    context, tab = _tab(browser, site, viewport={"width": 1280, "height": 900})
    yield tab
    context.close()


def shot(tab, name: str) -> None:
    folder = os.environ.get("FACE_ASSETS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for img in tab.locator("img[loading=lazy]").all():
            img.scroll_into_view_if_needed()  # lazy thumbnails load before the picture
        tab.wait_for_load_state("networkidle")
        tab.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _drag(tab, box: list[float], width: int) -> None:
    """Drag a box on the photo with the mouse, from photo pixels to screen pixels."""
    where = tab.locator("#photo img").bounding_box()
    scale = where["width"] / width
    x1, y1, x2, y2 = box
    tab.mouse.move(where["x"] + x1 * scale, where["y"] + y1 * scale)
    tab.mouse.down()
    tab.mouse.move(where["x"] + (x1 + x2) / 2 * scale, where["y"] + (y1 + y2) / 2 * scale)
    tab.mouse.move(where["x"] + x2 * scale, where["y"] + y2 * scale)
    tab.mouse.up()


def test_false_face_gone_after_redetection_then_a_drawn_face_named(page, site, face_models):
    image_id, month, faces = group_photo(site.store)
    (false_face, box), (kit, _) = faces
    width = one_row(site.store, "SELECT width FROM images WHERE id = %s", (image_id,))[0]
    page.goto(f"/review/photos/{image_id}")
    assert page.locator("#photo .box[data-x]").count() == 2
    shot(page, "photo")
    page.click(f"form[action='/review/faces/{false_face}/not-a-face'] button")
    page.wait_for_selector(".flash:has-text('Marked as not a face')")
    face_detection.detect_faces(face_models, site.store, site.app.state.library_root, [month],
                        redetect=True)  # fmt: skip
    page.reload()
    assert page.locator("#photo .box[data-x]").count() == 1  # re-detection did not bring it back
    assert [f for f, _ in group_photo(site.store)[2]] == [kit]
    page.click("form[action^='/review/marks/'] button")  # "Undo: it is a face"
    page.wait_for_selector(".flash:has-text('Restored: 1 face found again')")
    assert page.locator("#photo .box[data-x]").count() == 2
    back = next(f for f, _ in group_photo(site.store)[2] if f != kit)

    # Mark it again, then draw it by hand and name it: the detector places it.
    page.click(f"form[action='/review/faces/{back}/not-a-face'] button")
    page.wait_for_selector(".flash:has-text('Marked as not a face')")
    assert not page.is_visible("#draw-form")  # nothing drawn yet: nothing to name
    _drag(page, box, width)
    page.wait_for_selector("#draw-form:not([hidden])")
    page.fill("#draw-form input[name=name]", "<i>Rose</i>")
    shot(page, "photo_drawing")
    page.click("#draw-form button")
    page.wait_for_selector(".flash:has-text('Added the face you drew as <i>Rose</i>')")
    assert "placed by the detector" in page.inner_text(".flash")
    assert page.locator(".flash i").count() == 0  # the name is text, never markup
    source, method = one_row(
        site.store,
        "SELECT f.source, f.assignment_method FROM faces f JOIN persons p"
        " ON p.id = f.person_id WHERE p.name = '<i>Rose</i>'",
    )
    assert (source, method) == ("manual", "human")
    assert page.locator("#photo .box.mark").count() == 1  # the new face, highlighted
    assert "(drawn)" in page.inner_text("ul.faces")


def test_cover_face_and_a_birthdate_that_refuses_an_earlier_photo(page, site):
    kit = faces_of(site.store, "kit_harington")
    person = labels.label_faces(site.store, kit[:2], "Kit H", PACK)["person_id"]
    date_photos(
        site.store,
        {kit[0]: datetime(2019, 3, 1), kit[1]: datetime(2021, 3, 1), kit[2]: datetime(2010, 3, 1)},
    )
    best = person_profiles.extras_of(site.store, [person])[person]["cover_face_id"]  # best quality
    cover = kit[0] if best == kit[1] else kit[1]
    page.goto(f"/review/persons/{person}")
    assert page.get_attribute("header.person img.cover", "src") == f"/thumb/{best}"
    page.click(f".face[data-face='{cover}'] form[action$='/cover'] button")
    page.wait_for_selector(".flash:has-text('Cover face set.')")
    assert page.get_attribute("header.person img.cover", "src") == f"/thumb/{cover}"
    chosen = one_row(site.store, "SELECT feature_face_id FROM persons WHERE id = %s", (person,))
    assert chosen == (cover,)
    page.fill("#birthdate-form input[name=birthdate]", "2015-06-01")
    page.click("#birthdate-form button")
    page.wait_for_selector(".flash:has-text('Birthdate saved')")
    assert "born 2015-06-01" in page.inner_text("header.person")
    assert "age 5" in page.inner_text(f".face[data-face='{kit[1]}']")  # March 2021
    shot(page, "person")
    # The 2010 photo: naming its face Kit H is refused, with the reason, and nothing changes.
    image = one_row(site.store, "SELECT image_id FROM faces WHERE id = %s", (kit[2],))[0]
    page.goto(f"/review/photos/{image}")
    page.fill(f"form[action='/review/faces/{kit[2]}/label'] input[name=name]", "Kit H")
    page.click(f"form[action='/review/faces/{kit[2]}/label'] button")
    page.wait_for_selector("text=Nothing was changed")
    assert "before Kit H's birthdate" in page.inner_text(".error")
    assert one_row(site.store, "SELECT person_id FROM faces WHERE id = %s", (kit[2],)) == (None,)
    page.goto("/review/persons")
    card = page.locator(f"a.card[href='/review/persons/{person}'] img")
    assert card.get_attribute("src") == f"/thumb/{cover}"
    shot(page, "persons")


def test_search_with_an_uploaded_photo(page, site, shared_data):
    rose = faces_of(site.store, "rose_leslie")
    labels.label_faces(site.store, rose, "Rose L", PACK)
    page.goto("/review/search")
    page.set_input_files("#search-form input[type=file]",
                         str(shared_data / "faces_real" / "rose_leslie" / "1.jpg"))  # fmt: skip
    page.click("#search-form button")
    page.wait_for_selector("#search-persons li")
    first = page.inner_text("#search-persons li:first-child")
    assert "Rose L" in first and "(likely)" in first
    sims = [float(t.split()[0]) for t in page.locator("#search-faces .meta").all_inner_texts()]
    assert sims == sorted(sims, reverse=True) and sims[0] > 0.9
    shot(page, "search")


def test_photos_of_two_people(page, site):
    image_id, _, faces = group_photo(site.store)
    angelina = faces_of(site.store, "angelina_jolie")
    a = labels.label_faces(site.store, angelina, "Angie", PACK)["person_id"]
    labels.label_faces(site.store, [faces[1][0]], "Kit Two", PACK)
    with site.store.transaction() as conn:  # pretend Angie is in the group photo too
        conn.execute("UPDATE faces SET person_id = %s, assignment_method = 'human'"
                     " WHERE id = %s", (a, faces[0][0]))  # fmt: skip
    page.goto("/review/photos")
    page.fill(".filters input[name=with]", "Angie, Kit Two")
    page.click(".filters button")
    page.wait_for_url(re.compile(r".*/review/photos\?with="))
    cards = page.locator("#photos a.photo")
    assert cards.count() == 1 and cards.get_attribute("href") == f"/review/photos/{image_id}"
    shot(page, "photos")
    page.goto(f"/review/persons/{a}")
    assert page.locator("#photos a.photo").count() == len(angelina) + 1
    page.fill("input[name=with]", "kit two")
    page.click("form[role=search] button")
    page.wait_for_selector("text=1 photo with kit two")
    assert page.locator("#photos a.photo").count() == 1


def test_phone_layout_is_one_column_with_touch_targets(browser, site):
    context, tab = _tab(browser, site, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        photo = group_photo(site.store)[0]
        for name, path in (
            ("persons", "/review/persons"),
            ("queue", "/review/queue"),
            ("photo", f"/review/photos/{photo}"),
        ):
            tab.goto(path)
            shot(tab, f"{name}_phone_top")
            content = tab.locator("main").bounding_box()
            assert content["width"] <= PHONE["width"], path  # no 980 px layout shrunk down
            for button in tab.locator("main button:visible").all()[:5]:
                assert button.bounding_box()["height"] >= 44, path
        tab.goto("/review/queue")
        tab.wait_for_selector("#question[data-state]")
        yes, no = (tab.locator(f"#{b}").bounding_box() for b in ("yes", "no"))
        assert yes["width"] > 150 and abs(yes["y"] - no["y"]) < 2  # two big buttons a row
        shot(tab, "queue_phone")
        tab.goto("/review/persons")
        shot(tab, "persons_phone")
    finally:
        context.close()


def test_api_docs_ask_for_the_token_then_send_the_csrf_token(browser, site):
    context = browser.new_context(base_url=site.url)
    tab = context.new_page()
    try:
        response = tab.goto("/docs")
        assert response.status == 401 and tab.locator("input[name=token]").count() == 1
        tab.fill("input[name=token]", TOKEN)
        tab.click("form[action='/login'] button")
        tab.wait_for_url(f"{site.url}/docs")
        tab.wait_for_selector(".swagger-ui .opblock-tag")
        tags = [t.split("\n")[0] for t in tab.locator(".opblock-tag").all_inner_texts()]
        assert {"library", "people", "detection service"} <= set(tags), tags
        assert "Bearer <token>" in tab.inner_text(".swagger-ui .info")
        csrf = next(c for c in context.cookies() if c["name"] == "face_assets_session")
        assert csrf["httpOnly"]
        html = tab.content()
        assert "X-CSRF-Token" in html  # every try-out write carries the session's token
        shot(tab, "docs")
    finally:
        context.close()
