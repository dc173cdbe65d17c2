"""A survey as a person answers it: in steps, so that branching works without JavaScript.

A new step starts at a question whose condition looks at a question of the current step:
its answer must be posted before the page can know whether to ask. The step functions are
pure (questions and answers in, steps out); `answering_open` is the one read, of the state
of an invitation's link and the answers saved so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError

from cxcore.feedback.models import Invitation, Kiosk, Question, QuestionType, Response, Survey
from cxcore.feedback.services import answers_clean, question_shown

# What keeps a link from being answered, as the services name it.
REFUSALS = ("unknown", "used", "expired", "closed")


# --- steps (pure) ------------------------------------------------------------------------------


def survey_steps(questions: list[Question]) -> list[list[Question]]:
    """The questions, in order, split where a question depends on one of the current step."""
    steps: list[list[Question]] = []
    keys: set[str] = set()
    for question in questions:
        depends_here = bool(question.show_if) and question.show_if.get("question") in keys
        if steps and not depends_here:
            steps[-1].append(question)
            keys.add(question.key)
        else:
            steps.append([question])
            keys = {question.key}
    return steps


def _given(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return value not in (None, [])


def _shown(question: Question, given: dict) -> bool:
    try:
        return question_shown(question, given)
    except TypeError:  # an earlier answer of the wrong kind (a forged post): the service refuses it
        return False


def answers_kept(questions: list[Question], given: dict) -> dict:
    """The answers still asked for after the earlier ones; a changed answer drops later ones."""
    kept: dict = {}
    for question in questions:
        value = given.get(question.key)
        if _given(value) and _shown(question, kept):
            kept[question.key] = value
    return kept


def step_questions(step: list[Question], given: dict) -> list[Question]:
    """The step's questions asked after the earlier answers (the others are skipped)."""
    return [question for question in step if _shown(question, given)]


def step_shown(step: list[Question], given: dict) -> bool:
    return any(_shown(question, given) for question in step)


def step_reachable(steps: list[list[Question]], index: int, given: dict) -> bool:
    """Whether step `index` may be shown: asked, with the required answers of every step before."""
    if not 0 <= index < len(steps) or not step_shown(steps[index], given):
        return False
    return not any(_required_missing(step, given) for step in steps[:index])


def _required_missing(step: list[Question], given: dict) -> bool:
    return any(q.required and q.key not in given for q in step_questions(step, given))


def step_to_resume(steps: list[list[Question]], given: dict) -> int:
    """Where a person coming back goes on: where they left off, unless a required answer is
    missing before it; the step after it when the step they left is answered in full.
    """
    answered = [
        index
        for index, step in enumerate(steps)
        if any(q.key in given for q in step_questions(step, given))
    ]
    if not answered:
        return step_next(steps, -1, given) or 0
    last = answered[-1]
    for index in range(last + 1):
        if _required_missing(steps[index], given):
            return index
    if any(q.key not in given for q in step_questions(steps[last], given)):
        return last
    following = step_next(steps, last, given)
    return last if following is None else following


def step_next(steps: list[list[Question]], index: int, given: dict) -> int | None:
    """The next step asked after step `index`, given the answers so far; None after the last."""
    for later in range(index + 1, len(steps)):
        if step_shown(steps[later], given):
            return later
    return None


def step_previous(steps: list[list[Question]], index: int, given: dict) -> int | None:
    for earlier in range(index - 1, -1, -1):
        if step_shown(steps[earlier], given):
            return earlier
    return None


def step_progress(steps: list[list[Question]], index: int, given: dict) -> tuple[int, int]:
    """("step 2 of 3"): steps asked up to this one, and those that may still be asked after it.

    A later step counts while the answer it depends on can still change (on this step or a
    later one); once that answer is settled on an earlier step, it counts only when asked.
    """
    step_of = {q.key: n for n, step in enumerate(steps) for q in step}
    position = sum(1 for step in steps[: index + 1] if step_shown(step, given))
    total = position
    for later in steps[index + 1 :]:
        undecided = any(
            q.show_if and step_of.get(q.show_if.get("question"), -1) >= index for q in later
        )
        if undecided or step_shown(later, given):
            total += 1
    return max(position, 1), max(total, 1)


def step_problems(survey: Survey, answers: dict, *, keys: set[str]) -> dict[str, list[str]]:
    """What the service would refuse in these answers on one step, required ones included.

    Moving on to the next step needs this step's required answers; the partial save that
    follows does not check them, since the rest of the survey is still to come.
    """
    try:
        answers_clean(survey, answers, complete=True)
    except ValidationError as exc:
        return {
            name: messages
            for name, messages in exc.message_dict.items()
            if name.removeprefix("answers.") in keys
        }
    return {}


# --- the link's state (read) -------------------------------------------------------------------


@dataclass
class Answering:
    """An invitation's link as its page sees it: can it be answered, and what was saved."""

    invitation: Invitation | None
    refusal: str = ""  # one of REFUSALS, or "" when the link can be answered
    questions: list[Question] = field(default_factory=list)
    given: dict = field(default_factory=dict)
    steps: list[list[Question]] = field(default_factory=list)

    @property
    def survey(self) -> Survey:
        return self.invitation.survey


def _answer_value(question: Question, answer):
    if question.type == QuestionType.TEXT:
        return answer.text
    if question.type == QuestionType.MULTIPLE:
        return list(answer.choices)
    if question.type == QuestionType.SINGLE:
        return answer.choices[0] if answer.choices else None
    if question.type == QuestionType.YES_NO:
        return answer.flag
    return answer.number


def answering_open(token: str, *, now: datetime) -> Answering:
    """The state of the link with this token, its survey's questions and the answers saved.

    An answered link says so before it says it expired: the person did what was asked.
    """
    invitation = (
        Invitation.objects.select_related("survey", "customer", "kiosk")
        .filter(token=token or "-")
        .first()
    )
    if invitation is None:
        return Answering(invitation=None, refusal="unknown")
    response = Response.objects.filter(invitation=invitation).prefetch_related("answers").first()
    if response is not None and response.status == Response.Status.COMPLETE:
        return Answering(invitation=invitation, refusal="used")
    if invitation.expires_at <= now:
        return Answering(invitation=invitation, refusal="expired")
    if invitation.survey.status != Survey.Status.OPEN:
        return Answering(invitation=invitation, refusal="closed")
    questions = list(invitation.survey.questions.all())
    by_id = {question.pk: question for question in questions}
    saved = {}
    for answer in response.answers.all() if response is not None else []:
        question = by_id.get(answer.question_id)
        if question is not None:
            saved[question.key] = _answer_value(question, answer)
    return Answering(
        invitation=invitation,
        questions=questions,
        given=answers_kept(questions, saved),
        steps=survey_steps(questions),
    )


def answering_done(token: str) -> Invitation | None:
    """The invitation whose link was answered in full, for its thank-you page; else None."""
    return (
        Invitation.objects.select_related("survey", "customer", "kiosk")
        .filter(token=token or "-", response__status=Response.Status.COMPLETE)
        .first()
    )


def public_survey(public_code: str) -> Survey | None:
    """The survey a QR code link names."""
    return Survey.objects.filter(public_code=public_code or "-").first()


def kiosk_get(key: str) -> Kiosk | None:
    """The active kiosk with this key (a retired tablet's key names nothing)."""
    return Kiosk.objects.select_related("survey").filter(key=key or "-", active=True).first()
