"""The "Is this X?" queue: the questions whose answers teach the system most, least sure first.

Five kinds of question, each answered yes or no by a person at the review page:
- an automatic assignment just above the matching threshold ("is this face X?"),
- an unassigned face whose nearest person is near the threshold ("is this face X?"): just
  below it, or just above before an assignment run (naming someone refreshes the queue),
- a cluster whose centroid is near a known person's centroid (a merge suggestion),
- two persons whose centroids are close ("are X and Y the same person?",
  services/person_pairs.py): yes merges them, no is a lasting "different",
- a video track whose mean is near a person's centroid ("is this X?" about the whole track,
  shown once as its best frame, never as its many frames): borderline automatic track
  assignments and unassigned tracks in the unsure band, measured as track assignment measures
  them (raw ArcFace against the centroids, the pack's threshold); yes names the whole track,
  no is the track's lasting "not this person" (video_track_rejections).
The threshold and the space are the assignments' own (services/matching.py): with a promoted
projection head, near misses are measured in its space against its calibrated threshold.
Every answer is a labelling operation: yes labels (label_faces / label_cluster), no records
the rejection (unassign_face, or a rejection row for faces nobody had assigned), so the same
question never comes back and automatic assignment never proposes that person again;
undo_answer takes back a face's or a track's answer, or two persons kept apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from face_assets.defaults import QUALITY_GATE
from face_assets.services import (
    cluster_naming,
    identities,
    labels,
    matching,
    person_pairs,
    track_labels,
)
from face_assets.services.views import SAMPLE_FACES, clip_time
from face_assets.store import Connection, Store, track_review
from face_assets.store import clusters as cluster_store
from face_assets.store import label_events as event_store
from face_assets.store import labels as label_store
from face_assets.store import person_pairs as pair_store
from face_assets.store import person_profiles as profile_store
from face_assets.store import persons as person_store
from face_assets.store import prototypes as prototype_store
from face_assets.store import questions as question_store
from face_assets.store import track_labels as track_label_store
from face_assets.store import vectors as vector_store
from face_assets.vision.packs import embedding_dim

# How far from the threshold a similarity still counts as "unsure" (cosine). buffalo_s's
# threshold is 0.40 and same-person pairs mostly score above 0.5 (README, measured), so a
# band of 0.10 either side holds the borderline cases without flooding the queue.
UNSURE_BAND = 0.10
# Clusters whose centroid reaches this cosine similarity to a person's centroid are offered
# as merge suggestions: the band's lower edge, since a centroid is steadier than one face.
MERGE_SUGGESTION_MIN = 0.30
NEAR_MISS_PROBES = 2000  # best unassigned faces matched against the prototypes: bounded cost
CLUSTERS_PROBED = 200  # largest clusters compared with the persons' centroids
TRACK_PROBES = 2000  # longest tracks no human named, matched against the centroids
DEFAULT_QUESTIONS = 20


@dataclass(frozen=True)
class Question:
    """One question: kind 'face' (face_id set), 'cluster' (cluster_id set) or 'persons'
    (other_person_id set)."""

    kind: str  # 'face', 'cluster', 'persons' or 'track'
    person_id: int
    person_name: str
    similarity: float
    uncertainty: float  # distance of the similarity from the threshold: smaller = less sure
    face_id: int | None = None
    cluster_id: str | None = None
    cluster_size: int = 0
    sample_face_ids: tuple[int, ...] = ()  # the cluster's faces (kind 'cluster')
    person_face_ids: tuple[int, ...] = ()  # faces of the person, to compare with
    assigned: bool = False  # the face is automatically assigned to the person now
    other_person_id: int | None = None  # kind 'persons': the person that may be the same
    other_person_name: str | None = None
    other_face_ids: tuple[int, ...] = ()
    track_id: int | None = None  # kind 'track': the whole track, shown by its best frame
    video: str | None = None  # the track's clip (library path)
    time_s: float | None = None  # the best frame's time in the clip
    track_faces: int = 0  # frames kept in the track
    caption: str | None = None  # "clip.mp4 at 0:04", as the review pages say where it is


def questions(
    store: Store,
    pack: str,
    limit: int = DEFAULT_QUESTIONS,
    rule: matching.MatchingRule | None = None,
) -> list[Question]:
    """The `limit` least sure questions, merge suggestions and faces mixed by uncertainty,
    under the assignments' matching rule (the one matching_rule decides when none is given)."""
    rule = rule or matching.matching_rule(store, pack)
    threshold = rule.threshold
    with store.transaction() as conn:
        found: list[Question] = []
        for face, person, name, sim in question_store.uncertain_auto_assignments(
            conn, pack, threshold, threshold + UNSURE_BAND, limit
        ):
            found.append(
                Question("face", person, name, sim, abs(sim - threshold), face, assigned=True)
            )
        # Unassigned faces in the whole unsure band: just below the threshold, and just above
        # it before an assignment run has given them (so naming someone refreshes the queue).
        for face, person, name, sim in _near_misses(
            store, conn, rule, threshold - UNSURE_BAND, threshold + UNSURE_BAND, limit
        ):
            found.append(Question("face", person, name, sim, abs(sim - threshold), face))
        for cluster, size, person, name, sim in question_store.cluster_person_suggestions(
            conn, pack, MERGE_SUGGESTION_MIN, CLUSTERS_PROBED, limit
        ):
            found.append(
                Question(
                    "cluster",
                    person,
                    name,
                    sim,
                    abs(sim - rule.pack_threshold),  # centroids are compared raw, in SQL
                    cluster_id=cluster,
                    cluster_size=int(size),
                    sample_face_ids=tuple(
                        question_store.best_cluster_face_ids(conn, cluster, SAMPLE_FACES)
                    ),
                )
            )
        found.extend(_unsure_tracks(conn, rule, limit))
    pairs = person_pairs.pair_suggestions(store, pack, limit)
    with store.transaction() as conn:
        names = person_store.person_names(conn, sorted({p for a, b, _ in pairs for p in (a, b)}))
        for a, b, sim in pairs:
            found.append(
                Question("persons", a, names[a], sim, abs(sim - threshold),
                         other_person_id=b, other_person_name=names[b])
            )  # fmt: skip
        found.sort(key=lambda q: (q.uncertainty, q.kind, q.face_id or 0, q.cluster_id or "",
                                  q.track_id or 0))  # fmt: skip
        found = found[:limit]
        wanted = {q.person_id for q in found} | {q.other_person_id for q in found}
        samples = {
            p: tuple(question_store.best_person_face_ids(conn, p, SAMPLE_FACES))
            for p in wanted
            if p is not None
        }
    return [
        Question(
            **{
                **q.__dict__,
                "person_face_ids": samples[q.person_id],
                "other_face_ids": samples.get(q.other_person_id, ()),
            }
        )
        for q in found
    ]


def _unsure_tracks(conn: Connection, rule: matching.MatchingRule, limit: int) -> list[Question]:
    """Tracks a human has not named whose nearest person is unsure: an automatic track
    assignment within the band above the threshold, or an unassigned track within the band
    around it. Each track is one question (its stored quality-weighted mean), matched as
    track assignment matches it (raw ArcFace, the active persons' centroids, the pack's
    threshold); persons a human rejected for the track are never asked. TRACK_PROBES longest
    tracks at most, so the cost stays bounded."""
    pack, threshold = rule.pack, rule.pack_threshold
    person_ids, centroids = prototype_store.prototype_centroids(conn, pack, embedding_dim(pack))
    tracks = track_review.queue_tracks(conn, pack, TRACK_PROBES)
    if not person_ids or not tracks:
        return []
    rejected = track_review.rejected_persons(conn, [t for t, _, _ in tracks])
    sims = np.stack([emb for _, emb, _ in tracks]) @ centroids.T
    column = {p: j for j, p in enumerate(person_ids)}
    row = {t: i for i, (t, _, _) in enumerate(tracks)}
    allowed = sims.copy()  # a human's "not this person" takes that person out of the track's row
    for track, persons in rejected.items():
        for p in persons & column.keys():
            allowed[row[track], column[p]] = -np.inf
    nearest = allowed.argmax(axis=1)  # ties: the lowest person id (person_ids ascend)
    found = []
    for i, (track, _, current) in enumerate(tracks):
        if current is not None:  # assigned by the machine: is it really them?
            if current not in column:
                continue
            person, sim = int(current), float(sims[i, column[current]])
            unsure = threshold <= sim < threshold + UNSURE_BAND
        else:
            j = int(nearest[i])
            if allowed[i, j] == -np.inf:  # every person rejected for this track
                continue
            person, sim = person_ids[j], float(sims[i, j])
            unsure = threshold - UNSURE_BAND <= sim < threshold + UNSURE_BAND
        if unsure:
            found.append((abs(sim - threshold), track, person, sim, current is not None))
    found.sort()
    found = found[:limit]
    facts = track_review.track_facts(conn, [t for _, t, _, _, _ in found])
    names = person_store.person_names(conn, sorted({p for _, _, p, _, _ in found}))
    return [
        Question("track", person, names[person], sim, gap, assigned=assigned, track_id=track,
                 video=facts[track]["video"], time_s=facts[track]["time_s"],
                 track_faces=facts[track]["face_count"],
                 caption=clip_time(facts[track]["video"], facts[track]["time_s"]))
        for gap, track, person, sim, assigned in found
        if track in facts
    ]  # fmt: skip


def _near_misses(
    store: Store,
    conn: Connection,
    rule: matching.MatchingRule,
    low: float,
    high: float,
    limit: int,
) -> list[tuple[int, int, str, float]]:
    """(face, person, name, similarity) of unassigned faces whose nearest person's similarity
    lies in [low, high), the unsure band around the threshold. The NEAR_MISS_PROBES best
    unassigned faces are matched against every prototype in one matrix product (the
    PrototypeIndex assignment uses), in the rule's space, so the cost stays bounded on a large
    library; faces a human already rejected for that person are left out."""
    pack = rule.pack
    face_ids = question_store.best_unassigned_faces(conn, pack, QUALITY_GATE, NEAR_MISS_PROBES)
    if not face_ids:
        return []
    vectors = vector_store.embeddings(conn, np.asarray(face_ids, dtype=np.int64))
    rejected = label_store.rejections(conn, face_ids)
    for face, persons in profile_store.born_after_photo(conn, face_ids).items():
        rejected.setdefault(face, set()).update(persons)  # never suggested before birth
    index = identities.prototype_index(store, pack, rule.projector)
    candidates = index.candidates(rule.vectors(vectors), min_similarity=low)
    found = []
    for face, cands in zip(face_ids, candidates, strict=True):
        if not cands:
            continue
        best = max(cands, key=lambda c: (c.similarity, -c.person_id))
        if low <= best.similarity < high and best.person_id not in rejected.get(face, ()):
            found.append((face, best.person_id, best.similarity))
    found.sort(key=lambda f: (-f[2], f[0]))
    found = found[:limit]
    names = person_store.person_names(conn, sorted({person for _, person, _ in found}))
    return [(face, person, names[person], sim) for face, person, sim in found]


@dataclass(frozen=True)
class Reply:
    """A person's yes or no to one question, and what the question was about: one face, one
    cluster, one track or another person (a 'persons' question), exactly one of them set."""

    answer: str
    person_id: int
    face_id: int | None = None
    cluster_id: str | None = None
    other_person_id: int | None = None
    track_id: int | None = None

    @property
    def kind(self) -> str:
        """The kind of question replied to ('face', 'cluster', 'persons' or 'track', as in
        Question.kind); ValueError unless exactly one subject is set."""
        subjects = {
            "face": self.face_id,
            "cluster": self.cluster_id,
            "persons": self.other_person_id,
            "track": self.track_id,
        }
        given = [kind for kind, subject in subjects.items() if subject is not None]
        if len(given) != 1:
            kinds = "one face, one cluster, one track or two persons"
            if self.track_id is None:  # the message of the queue before tracks were asked
                kinds = "one face, one cluster or two persons"
            raise ValueError(f"a question is about {kinds}")
        return given[0]


def answer(store: Store, pack: str, reply: Reply) -> dict:
    """Apply a yes/no answer as a labelling operation; returns what it did."""
    if reply.answer not in ("yes", "no"):
        raise ValueError("an answer is 'yes' or 'no' (skipping changes nothing)")
    kind, answer, person_id = reply.kind, reply.answer, reply.person_id
    if kind == "track":
        return answer_track(store, answer, person_id, reply.track_id)
    if kind == "persons":
        return person_pairs.answer_pair(store, pack, answer, person_id, reply.other_person_id)
    with store.transaction() as conn:
        person = person_store.find_person(conn, person_id)
    if kind == "cluster":
        cluster_id = reply.cluster_id
        if answer == "yes":
            return {"operation": "label_cluster", **cluster_naming.label_cluster(
                store, cluster_id, person.name, pack
            )}  # fmt: skip
        return {"operation": "reject_cluster", **reject_cluster(store, cluster_id, person.id)}
    face_id = reply.face_id
    if answer == "yes":
        return {"operation": "label_faces", **labels.label_faces(
            store, [face_id], person.name, pack
        )}  # fmt: skip
    with store.transaction() as conn:
        current, _ = label_store.face_person(conn, face_id)  # LookupError on a wrong id
    if current == person.id:
        return {"operation": "unassign", **labels.unassign_face(store, face_id)}
    return {"operation": "reject_face", **reject_faces(store, [face_id], person.id)}


def answer_track(store: Store, answer: str, person_id: int, track_id: int) -> dict:
    """yes: the whole track is the person (a human's label); no: the whole track is not them,
    for good (it leaves them if the machine had given it)."""
    with store.transaction() as conn:
        person = person_store.find_person(conn, person_id)
    if answer == "yes":
        done = track_labels.label_track(store, track_id, person.name)
        return {"operation": "label_track", **done}
    done = track_labels.reject_track(store, track_id, person.id)
    with store.transaction() as conn:
        faces = track_review.track_facts(conn, [track_id]).get(track_id, {}).get("face_count", 0)
    return {"operation": "reject_track", **done, "faces": faces}


def reject_faces(store: Store, face_ids: list[int], person_id: int) -> dict:
    """ "These faces are not this person" for faces nobody assigned to them: recorded as
    rejections (as unassign_face records them), logged as a labelling event."""

    def work(conn: Connection) -> dict:
        if person_id not in person_store.lock_persons(conn, [person_id]):
            raise LookupError(f"no person {person_id}")
        label_store.lock_faces(conn, face_ids)  # one statement; LookupError on a wrong id
        rejected = label_store.reject(conn, face_ids, person_id)
        event_store.log_event(conn, "reject", person_id, None, rejected, {"faces": face_ids})
        return {"person_id": person_id, "faces_rejected": rejected}

    return store.run(work)


def reject_cluster(store: Store, cluster_id: str, person_id: int) -> dict:
    """A merge suggestion answered no: the cluster's faces are not this person."""

    def work(conn: Connection) -> dict:
        if person_id not in person_store.lock_persons(conn, [person_id]):
            raise LookupError(f"no person {person_id}")
        members = cluster_store.lock_cluster_faces(conn, cluster_id)
        if not members:
            raise LookupError(f"no cluster {cluster_id!r} with unlabelled faces")
        rejected = label_store.reject(conn, members, person_id)
        event_store.log_event(conn, "reject", person_id, cluster_id, rejected)
        return {"person_id": person_id, "cluster": cluster_id, "faces_rejected": rejected}

    return store.run(work)


UNDOABLE = "only a face's or a track's answer or two persons kept apart can be undone"


def undo_answer(store: Store, pack: str, reply: Reply) -> dict:
    """Take back an answer of the "Is this X?" queue where that is cheap: a face's or a
    track's yes (the human label goes, no rejection is recorded; a track goes back to
    unassigned, in the cluster it was in when it was named), a face's or a track's no (the
    rejection goes), two persons kept apart (asked again). A merge or a named cluster is undone
    by hand."""
    try:
        kind = reply.kind
    except ValueError:
        raise ValueError(UNDOABLE) from None
    if kind == "cluster":  # a named cluster is undone by hand
        raise ValueError(UNDOABLE)
    answer, person_id = reply.answer, reply.person_id
    face_id, other_person_id, track_id = reply.face_id, reply.other_person_id, reply.track_id
    with store.transaction() as conn:
        if other_person_id is not None and answer == "no":
            changed = pair_store.unmark_different(conn, person_id, other_person_id)
        elif face_id is not None and answer == "yes":
            changed = label_store.release_human_label(conn, face_id, person_id)
            if changed:
                identities.rebuild_prototypes(conn, pack, [person_id])
        elif face_id is not None and answer == "no":
            changed = label_store.drop_rejections(conn, [face_id], person_id)
        elif track_id is not None and answer == "yes":
            changed = track_label_store.release_human_track_label(conn, track_id, person_id)
        elif track_id is not None and answer == "no":
            changed = track_label_store.drop_track_rejections(conn, [track_id], person_id)
        else:
            raise ValueError(UNDOABLE)
        detail = {"answer": answer, "face": face_id, "other": other_person_id}
        if track_id is not None:
            detail["track"] = track_id
        event_store.log_event(conn, "undo", person_id, None, changed, detail)
    return {"undone": bool(changed)}
