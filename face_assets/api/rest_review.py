"""Seed 002's "Is this X?" queue: the least sure questions under the one matching rule, and
the answers (yes labels, no records the rejection)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import Query, Request

from face_assets.api import schemas as s
from face_assets.api.rest_kit import labelled, library_router
from face_assets.services import matching, review_queue

MAX_QUESTIONS = 100  # review queue items per request

router = library_router()


@router.get("/review/queue", response_model=s.QueueResponse)
def review_questions(
    request: Request, limit: int = Query(default=20, ge=1, le=MAX_QUESTIONS)
) -> s.QueueResponse:
    """The least sure questions first: borderline assignments, near misses, merge
    suggestions."""
    state = request.app.state
    rule = matching.matching_rule(state.store, state.pack)
    found = review_queue.questions(state.store, state.pack, limit, rule)
    return s.QueueResponse(
        threshold=rule.threshold,
        threshold_source=rule.source,
        matching_space=rule.space,
        items=[
            s.Question(  # the service's question, field for field, similarities rounded
                **{
                    **asdict(q),
                    "similarity": round(q.similarity, 4),
                    "uncertainty": round(q.uncertainty, 4),
                }
            )
            for q in found
        ],
    )


@router.post("/review/answer", response_model=s.AnswerResponse)
def review_answer(request: Request, body: s.AnswerRequest) -> s.AnswerResponse:
    """yes: label the face (or cluster) as the person; no: unassign / record the rejection."""
    state = request.app.state
    result = review_queue.answer(state.store, state.pack, review_queue.Reply(**body.model_dump()))
    labelled(request)
    faces = result.get("faces", result.get("faces_rejected", 1))
    return s.AnswerResponse(
        operation=result["operation"], person_id=result.get("person_id", body.person_id),
        faces=int(faces),
    )  # fmt: skip
