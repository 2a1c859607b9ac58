"""What a person's page says of them: the cover face, the birthdate (a machine's faces in
photos before it are released), their timeline, and each face's date and age.

Human decisions follow labels.py's rules: one transaction each, logged in label_events (ids
and counts only), never overwritten by a machine."""

from __future__ import annotations

from datetime import date

from face_assets.identity.lifetime import age_on
from face_assets.services.identities import rebuild_prototypes
from face_assets.store import Store
from face_assets.store import face_search as search_store
from face_assets.store import label_events as event_store
from face_assets.store import labels as label_store
from face_assets.store import person_profiles as profile_store
from face_assets.store import persons as person_store


def set_cover(store: Store, person_id: int, face_id: int | None) -> dict:
    """The person's cover face (None: back to their best-quality face); it must be theirs."""
    with store.transaction() as conn:
        person = person_store.find_person(conn, str(person_id))
        if face_id is not None:
            owner, _, _ = profile_store.face_owner(conn, face_id)
            if owner != person.id:
                raise ValueError(f"face {face_id} is not a face of {person.name}")
        profile_store.set_feature_face(conn, person.id, face_id)
        event_store.log_event(conn, "cover", person.id, None, 0, {"face": face_id})
        cover = profile_store.person_extras(conn, [person.id])[person.id]["cover_face_id"]
    return {"person_id": person.id, "feature_face_id": face_id, "cover_face_id": cover}


def set_birthdate(store: Store, person_id: int, birthdate: date | None, pack: str) -> dict:
    """The person's birthdate (None clears it). Automatic assignments in photos taken before it
    are released at once; a human label there is refused (a human decision is never
    overwritten: fix the label or the photo's date first)."""
    with store.transaction() as conn:
        person = person_store.find_person(conn, str(person_id))
        if person.status == "merged":
            raise ValueError(f"{person.name!r} was merged into person {person.merged_into}")
        released = 0
        if birthdate is not None:
            if birthdate > date.today():
                raise ValueError(f"a birthdate cannot lie in the future ({birthdate})")
            human = profile_store.faces_before(conn, person.id, birthdate, "human")
            if human:
                raise ValueError(
                    f"{len(human)} face(s) labelled {person.name} by a person are in photos"
                    f" taken before {birthdate} (face {human[0]} first): unassign them or"
                    " correct the date"
                )
            released = label_store.release_auto(
                conn, profile_store.faces_before(conn, person.id, birthdate, "auto")
            )
        profile_store.set_birthdate(conn, person.id, birthdate)
        if released:
            rebuild_prototypes(conn, pack, [person.id])
        event_store.log_event(conn, "birthdate", person.id, None, released)
    return {"person_id": person.id, "birthdate": birthdate, "auto_assignments_released": released}


def profile(store: Store, person_id: int) -> dict:
    """Cover, birthdate and timeline (photo dates, not detection times) of a person."""
    with store.transaction() as conn:
        person_store.find_person(conn, str(person_id))
        extras = profile_store.person_extras(conn, [person_id])[person_id]
        extras["timeline"] = profile_store.timeline(conn, person_id)
    return extras


def extras_of(store: Store, person_ids: list[int]) -> dict[int, dict]:
    with store.transaction() as conn:
        return profile_store.person_extras(conn, person_ids)


def face_facts(store: Store, face_ids: list[int], birthdate: date | None = None) -> dict:
    """Photo date, source and (with a birthdate) the person's age of each face."""
    with store.transaction() as conn:
        brief = search_store.faces_brief(conn, face_ids)
    for info in brief.values():
        info["age"] = age_on(info["taken_at"], birthdate)
    return brief
