"""Seed 002's person endpoints: list and read persons, merge, hide, rename and forget one."""

from __future__ import annotations

from fastapi import HTTPException, Query, Request, status

from face_assets.api import schemas as s
from face_assets.api.rest_kit import Page, PageSize, face_out, labelled, library_router, page_args
from face_assets.services import forgetting, labels, person_profiles, views
from face_assets.settings import Settings

router = library_router()


def _person_fields(p: dict) -> dict:
    """The fields a person's list row and detail share, from the store's person row."""
    return {
        "id": p["id"],
        "name": p["name"],
        "status": p["status"],
        "merged_into": p["merged_into"],
        "face_count": p["faces"],
        "prototype_count": p["prototypes"],
        "created_at": p["created_at"],
        "updated_at": p["updated_at"],
    }


def person_out(p: dict, extras: dict | None = None) -> s.PersonOut:
    extra = (extras or {}).get(p["id"], {})
    return s.PersonOut(
        **_person_fields(p),
        human_count=p["human"],
        auto_count=p["auto"],
        feature_face_id=extra.get("cover_face_id"),
        birthdate=extra.get("birthdate"),
    )


@router.get("/persons", response_model=s.PersonListResponse)
def list_persons(
    request: Request,
    page: int = Page,
    page_size: int = PageSize,
    status_filter: str | None = Query(
        default=None, alias="status", pattern="^(active|merged|hidden)$"
    ),
) -> s.PersonListResponse:
    limit, offset = page_args(page, page_size)
    rows, total = views.person_page(request.app.state.store, status_filter, limit, offset)
    extras = person_profiles.extras_of(request.app.state.store, [p["id"] for p in rows])
    return s.PersonListResponse(
        items=[person_out(p, extras) for p in rows], total=total, page=page, page_size=page_size
    )


@router.get("/persons/{person_id}", response_model=s.PersonDetailResponse)
def get_person(
    request: Request, person_id: int, page: int = Page, page_size: int = PageSize
) -> s.PersonDetailResponse:
    limit, offset = page_args(page, page_size)
    store = request.app.state.store
    p = views.person_detail(store, person_id, limit, offset)
    extra = person_profiles.profile(store, person_id)
    facts = person_profiles.face_facts(store, [f["id"] for f in p["face_list"]], extra["birthdate"])
    line = extra["timeline"]
    return s.PersonDetailResponse(
        **_person_fields(p),
        faces=[face_out(f, facts) for f in p["face_list"]],
        page=page,
        page_size=page_size,
        tracks=[s.TrackOut(**t) for t in views.person_tracks(store, person_id)],
        feature_face_id=extra["cover_face_id"],
        birthdate=extra["birthdate"],
        timeline=s.Timeline(
            first_seen=line["first"],
            last_seen=line["last"],
            undated=line["undated"],
            per_year=line["per_year"],
        ),
    )


@router.post("/persons/{person_id}/merge", response_model=s.MergePersonsResponse)
def merge_person(
    request: Request, person_id: int, body: s.MergePersonsRequest
) -> s.MergePersonsResponse:
    """Merge this person into another; the source stays as 'merged' for the audit trail."""
    state = request.app.state
    result = labels.merge_persons(state.store, str(person_id), str(body.into_person_id), state.pack)
    labelled(request)
    return s.MergePersonsResponse(
        source_person_id=person_id,
        target_person_id=body.into_person_id,
        faces_moved=result["faces_moved"],
    )


def _hide(request: Request, person_id: int, hidden: bool) -> s.HidePersonResponse:
    state = request.app.state
    result = labels.hide_person(state.store, str(person_id), hidden, state.pack)
    labelled(request)
    return s.HidePersonResponse(
        person_id=person_id,
        status=result["status"],
        auto_assignments_released=result["auto_assignments_released"],
    )


@router.post("/persons/{person_id}/hide", response_model=s.HidePersonResponse)
def hide_person(request: Request, person_id: int) -> s.HidePersonResponse:
    """No prototypes, no new assignments; automatic assignments released."""
    return _hide(request, person_id, True)


@router.post("/persons/{person_id}/unhide", response_model=s.HidePersonResponse)
def unhide_person(request: Request, person_id: int) -> s.HidePersonResponse:
    return _hide(request, person_id, False)


@router.post("/persons/{person_id}/rename", response_model=s.RenamePersonResponse)
def rename_person(
    request: Request, person_id: int, body: s.RenamePersonRequest
) -> s.RenamePersonResponse:
    result = labels.rename_person(request.app.state.store, str(person_id), body.name)
    labelled(request)
    return s.RenamePersonResponse(
        person_id=person_id, name=result["to"], previous_name=result["from"]
    )


@router.post("/persons/{person_id}/forget", response_model=s.ForgetPersonResponse)
def forget_person(
    request: Request, person_id: int, body: s.ForgetPersonRequest
) -> s.ForgetPersonResponse:
    """Delete the person's faces, embeddings, crops and prototypes for good. The body must
    confirm with exactly "forget <current name>", so a wrong id cannot delete someone else."""
    state = request.app.state
    found = views.person_detail(state.store, person_id, 0, 0)
    expected = f"forget {found['name']}"
    if body.confirm != expected:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"forget deletes this person's biometric data for good; confirm with"
            f' {{"confirm": {expected!r}}}',
        )
    # The library root lets the forget remove the name from the sidecars export-tags wrote.
    library = Settings.from_env().library
    result = forgetting.forget_person(state.store, str(person_id), library_root=library)
    labelled(request)
    return s.ForgetPersonResponse(
        person_id=person_id,
        faces_deleted=result["faces_deleted"],
        files_deleted=result["files_deleted"],
    )
