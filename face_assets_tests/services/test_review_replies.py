"""A reply to the "Is this X?" queue is about exactly one subject: the one rule answer and
undo_answer share (Reply.kind), with the messages the API has always given."""

import pytest

from face_assets.services import review_queue
from face_assets.services.review_queue import Reply

BEFORE_TRACKS = "a question is about one face, one cluster or two persons"
WITH_TRACKS = "a question is about one face, one cluster, one track or two persons"


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ({"face_id": 1}, "face"),
        ({"cluster_id": "c1"}, "cluster"),
        ({"other_person_id": 2}, "persons"),
        ({"track_id": 3}, "track"),
    ],
)
def test_a_reply_about_one_subject_is_of_that_questions_kind(subject, kind):
    assert Reply("yes", 7, **subject).kind == kind


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ({}, BEFORE_TRACKS),
        ({"face_id": 1, "cluster_id": "c1"}, BEFORE_TRACKS),
        ({"face_id": 1, "other_person_id": 2}, BEFORE_TRACKS),
        ({"track_id": 3, "face_id": 1}, WITH_TRACKS),
        ({"track_id": 3, "other_person_id": 2}, WITH_TRACKS),
    ],
)
def test_answer_refuses_a_reply_about_no_or_several_subjects(subject, message):
    """Refused before the store is touched (none is given here)."""
    with pytest.raises(ValueError, match=f"^{message}$"):
        review_queue.answer(None, "buffalo_s", Reply("no", 7, **subject))


def test_answer_checks_the_answer_first():
    with pytest.raises(ValueError, match="'yes' or 'no'"):
        review_queue.answer(None, "buffalo_s", Reply("skip", 7))


@pytest.mark.parametrize(
    "subject",
    [{}, {"cluster_id": "c1"}, {"face_id": 1, "track_id": 3}, {"face_id": 1, "cluster_id": "c1"}],
)
def test_undo_refuses_a_cluster_and_an_unclear_subject(subject):
    """A named cluster is undone by hand; a reply about several subjects is as unclear to undo
    as to answer."""
    with pytest.raises(ValueError, match=f"^{review_queue.UNDOABLE}$"):
        review_queue.undo_answer(None, "buffalo_s", Reply("yes", 7, **subject))
