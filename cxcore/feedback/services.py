"""Every write of the feedback area: surveys, invitations and the answers they collect."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxcore.customers.services import audit_record
from cxcore.feedback.models import (
    SCALES,
    Answer,
    AnswerChannel,
    Invitation,
    Kiosk,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyKind,
)
from cxcore.interactions.models import Touchpoint
from cxcore.lib.actor import Actor

EXPORT_FORMAT = "cxcore.survey/1"
MAX_QUESTIONS = 60
MAX_CHOICES = 30
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
CONDITION_OPS = ("eq", "ne", "lte", "gte", "in")
SURVEY_TEXTS = ("title_fr", "title_en", "intro_fr", "intro_en", "thanks_fr", "thanks_en")
QUESTION_FIELDS = (
    "key",
    "type",
    "text_fr",
    "text_en",
    "required",
    "choices",
    "scale_min",
    "scale_max",
    "max_length",
    "show_if",
)


def _answer_values(question: dict) -> set | None:
    """The answers a question accepts, when they are a closed set (for branching checks)."""
    kind = question["type"]
    if kind in SCALES or kind == QuestionType.RATING:
        low, high = question["scale_min"], question["scale_max"]
        return set(range(low, high + 1))
    if kind in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        return {choice["value"] for choice in question["choices"]}
    if kind == QuestionType.YES_NO:
        return {True, False}
    return None


def questions_clean(questions: list) -> list[dict]:
    """Check a survey's questions; return them normalised, or raise naming `questions.N.field`."""
    problems: dict[str, str] = {}
    if not isinstance(questions, list) or not questions:
        raise ValidationError({"questions": _("A survey needs at least one question.")})
    if len(questions) > MAX_QUESTIONS:
        raise ValidationError({"questions": _("At most %d questions.") % MAX_QUESTIONS})
    cleaned: list[dict] = []
    seen: dict[str, dict] = {}
    for n, raw in enumerate(questions):
        at = f"questions.{n}"
        if not isinstance(raw, dict):
            problems[at] = _("Each question is an object.")
            continue
        unknown = set(raw) - set(QUESTION_FIELDS)
        if unknown:
            problems[f"{at}.{sorted(unknown)[0]}"] = _("Unknown field.")
            continue
        kind = raw.get("type")
        if kind not in QuestionType.values:
            problems[f"{at}.type"] = _("Use one of: %s.") % ", ".join(QuestionType.values)
            continue
        question = {
            "key": str(raw.get("key") or f"q{n + 1}").strip().lower(),
            "type": kind,
            "text_fr": str(raw.get("text_fr") or "").strip(),
            "text_en": str(raw.get("text_en") or "").strip(),
            "required": raw.get("required", False),
            "choices": raw.get("choices") or [],
            "scale_min": raw.get("scale_min"),
            "scale_max": raw.get("scale_max"),
            "max_length": raw.get("max_length") or 2000,
            "show_if": raw.get("show_if") or {},
        }
        if not isinstance(question["required"], bool):
            problems[f"{at}.required"] = _("Give true or false.")
        if not KEY.match(question["key"]):
            problems[f"{at}.key"] = _(
                "A key is 1 to 50 lower-case letters, digits, - or _, starting with a letter "
                "or digit."
            )
        elif question["key"] in seen:
            problems[f"{at}.key"] = _("Another question already has this key.")
        for language in ("fr", "en"):
            text = question[f"text_{language}"]
            if not text:
                problems[f"{at}.text_{language}"] = _("Write the question in both languages.")
            elif len(text) > 500:
                problems[f"{at}.text_{language}"] = _("At most 500 characters.")
        if kind in SCALES:
            given = (question["scale_min"], question["scale_max"])
            if given != (None, None) and given != SCALES[kind]:
                problems[f"{at}.scale_min"] = _("This measure has a fixed scale.")
            question["scale_min"], question["scale_max"] = SCALES[kind]
        elif kind == QuestionType.RATING:
            low = question["scale_min"] if question["scale_min"] is not None else 1
            high = question["scale_max"] if question["scale_max"] is not None else 5
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or not (
                0 <= low < high <= 10
            ):
                problems[f"{at}.scale_max"] = _("A rating goes from 0 or more to at most 10.")
            question["scale_min"], question["scale_max"] = low, high
        elif question["scale_min"] is not None or question["scale_max"] is not None:
            problems[f"{at}.scale_min"] = _("Only ratings have a scale.")
        if kind in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            problem = _choices_problem(question["choices"])
            if problem:
                problems[f"{at}.choices"] = problem
        elif question["choices"]:
            problems[f"{at}.choices"] = _("Only choice questions have choices.")
        if kind == QuestionType.TEXT:
            if (
                not isinstance(question["max_length"], int)
                or not 1 <= question["max_length"] <= 10000
            ):
                problems[f"{at}.max_length"] = _("A text answer is 1 to 10,000 characters long.")
        else:
            question["max_length"] = 2000
        if question["show_if"]:
            problem = _condition_problem(question["show_if"], seen)
            if problem:
                problems[f"{at}.show_if"] = problem
        if f"{at}.key" not in problems:
            seen[question["key"]] = question
        cleaned.append(question)
    if problems:
        raise ValidationError(problems)
    return cleaned


def _choices_problem(choices) -> str | None:
    if not isinstance(choices, list) or len(choices) < 2:
        return _("Give at least two choices.")
    if len(choices) > MAX_CHOICES:
        return _("At most %d choices.") % MAX_CHOICES
    values = set()
    for choice in choices:
        if not isinstance(choice, dict) or set(choice) != {"value", "fr", "en"}:
            return _('Each choice is {"value", "fr", "en"}.')
        if not isinstance(choice["value"], str) or not KEY.match(choice["value"]):
            return _("A choice value is a short key of letters, digits, - or _.")
        if choice["value"] in values:
            return _("Two choices have the same value.")
        if not all(isinstance(choice[lang], str) and choice[lang].strip() for lang in ("fr", "en")):
            return _("Write each choice in both languages.")
        values.add(choice["value"])
    return None


def _condition_problem(condition, earlier: dict[str, dict]) -> str | None:
    if not isinstance(condition, dict) or set(condition) != {"question", "op", "value"}:
        return _('A condition is {"question", "op", "value"}.')
    target = earlier.get(condition["question"])
    if target is None:
        return _("A condition can only look at an earlier question.")
    if condition["op"] not in CONDITION_OPS:
        return _("Use one of: %s.") % ", ".join(CONDITION_OPS)
    accepted = _answer_values(target)
    values = condition["value"] if condition["op"] == "in" else [condition["value"]]
    if condition["op"] == "in" and not isinstance(condition["value"], list):
        return _("With 'in', give a list of values.")
    if condition["op"] in ("lte", "gte") and target["type"] not in (*SCALES, QuestionType.RATING):
        return _("Only scores can be compared with lte or gte.")
    if accepted is not None and any(value not in accepted for value in values):
        return _("The earlier question cannot be answered with this value.")
    return None


def _survey_fields_clean(data: dict) -> dict:
    problems = {}
    name = str(data.get("name") or "").strip()
    if not name:
        problems["name"] = _("Give the survey a name.")
    elif len(name) > 150:
        problems["name"] = _("At most 150 characters.")
    kind = data.get("kind")
    if kind not in SurveyKind.values:
        problems["kind"] = _("Use one of: %s.") % ", ".join(SurveyKind.values)
    touchpoint = None
    code = data.get("touchpoint")
    if code:
        touchpoint = Touchpoint.objects.filter(code=code).first()
        if touchpoint is None:
            problems["touchpoint"] = _("Unknown touchpoint %s.") % code
    elif kind == SurveyKind.TRANSACTIONAL:
        problems["touchpoint"] = _("A transactional survey asks about one touchpoint.")
    texts = {name: str(data.get(name) or "").strip() for name in SURVEY_TEXTS}
    for language in ("fr", "en"):
        if not texts[f"title_{language}"]:
            problems[f"title_{language}"] = _("Give the survey a title in both languages.")
    if problems:
        raise ValidationError(problems)
    return {"name": name, "kind": kind, "touchpoint": touchpoint, **texts}


@transaction.atomic
def survey_create(*, actor: Actor, data: dict) -> Survey:
    """A draft survey from `data` (the fields of the JSON format, questions included)."""
    problems = {}
    try:
        fields = _survey_fields_clean(data)
    except ValidationError as exc:
        problems.update(exc.message_dict)
        fields = None
    try:
        questions = questions_clean(data.get("questions"))
    except ValidationError as exc:
        problems.update(exc.message_dict)
    if problems:
        raise ValidationError(problems)
    survey = Survey.objects.create(
        **fields, created_by=actor.user if getattr(actor.user, "pk", None) else None
    )
    _questions_write(survey, questions)
    audit_record(actor=actor, action="survey_created", target=f"survey:{survey.pk}")
    return survey


def _questions_write(survey: Survey, questions: list[dict]) -> None:
    Question.objects.bulk_create(
        [Question(survey=survey, position=n, **q) for n, q in enumerate(questions, start=1)]
    )


@transaction.atomic
def survey_questions_set(*, actor: Actor, survey: Survey, questions: list) -> Survey:
    """Replace a draft survey's questions (an open survey's answers refer to them)."""
    if survey.status != Survey.Status.DRAFT:
        raise ValidationError({"status": _("Only a draft survey's questions can change.")})
    cleaned = questions_clean(questions)
    survey.questions.all().delete()
    _questions_write(survey, cleaned)
    audit_record(actor=actor, action="survey_changed", target=f"survey:{survey.pk}")
    return survey


@transaction.atomic
def survey_open(*, actor: Actor, survey: Survey) -> Survey:
    if survey.status != Survey.Status.DRAFT:
        raise ValidationError({"status": _("Only a draft survey can be opened.")})
    survey.status, survey.opened_at = Survey.Status.OPEN, timezone.now()
    if not survey.public_code:
        survey.public_code = secrets.token_urlsafe(9)  # 12 characters, for the QR code link
    survey.save(update_fields=["status", "opened_at", "public_code"])
    audit_record(actor=actor, action="survey_opened", target=f"survey:{survey.pk}")
    return survey


@transaction.atomic
def survey_close(*, actor: Actor, survey: Survey) -> Survey:
    """Stop taking answers; a closed survey stays readable and can be copied."""
    if survey.status == Survey.Status.CLOSED:
        raise ValidationError({"status": _("This survey is already closed.")})
    survey.status, survey.closed_at = Survey.Status.CLOSED, timezone.now()
    survey.save(update_fields=["status", "closed_at"])
    audit_record(actor=actor, action="survey_closed", target=f"survey:{survey.pk}")
    return survey


def survey_export(survey: Survey) -> dict:
    """The survey as portable JSON (no ids), which `survey_import` reads back."""
    return {
        "format": EXPORT_FORMAT,
        "name": survey.name,
        "kind": survey.kind,
        "touchpoint": survey.touchpoint.code if survey.touchpoint_id else None,
        **{name: getattr(survey, name) for name in SURVEY_TEXTS},
        "questions": [
            {name: getattr(q, name) for name in QUESTION_FIELDS} for q in survey.questions.all()
        ],
    }


def survey_import(*, actor: Actor, data: dict) -> Survey:
    """A new draft survey from exported JSON (this instance's or another's)."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ValidationError({"format": _("Not a survey export (%s).") % EXPORT_FORMAT})
    fields = {key: value for key, value in data.items() if key != "format"}
    return survey_create(actor=actor, data=fields)


def survey_duplicate(*, actor: Actor, survey: Survey, name: str = "") -> Survey:
    """A draft copy of the survey, questions and all, to change without touching the original."""
    data = survey_export(survey)
    data.pop("format")
    data["name"] = (name or _("Copy of %s") % survey.name)[:150]
    return survey_create(actor=actor, data=data)


# --- invitations and responses ----------------------------------------------------------------

INVITATION_DAYS = 30
PUBLIC_INVITATION_DAYS = 1  # a QR code or kiosk visit: answered now or not at all
# No 0/O, 1/I/L or U: a code read out on the phone or copied from paper is keyed right.
SHORT_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
SHORT_CODE_LENGTH = 10


def _token() -> str:
    # 32 random bytes: unguessable, URL-safe, never empty.
    return secrets.token_urlsafe(32)


def _short_code() -> str:
    # 30^10, about 2^49: not guessable by an agent's typo, short enough to key in.
    return "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))


def short_code_normalise(text: str) -> str:
    """What an agent keyed in ("abcde-fghjk", with spaces) as the stored code."""
    return "".join(ch for ch in str(text or "").upper() if ch.isalnum())


def short_code_display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}" if len(code) == SHORT_CODE_LENGTH else code


@transaction.atomic
def invitation_create(
    *,
    survey: Survey,
    channel: str,
    customer=None,
    interaction=None,
    language: str | None = None,
    valid_days: int = INVITATION_DAYS,
    trigger=None,
    kiosk=None,
) -> Invitation:
    """An invitation with its single-use token and short code, for an open survey.

    A survey asks once about an interaction: a second invitation for it is refused.
    """
    if survey.status != Survey.Status.OPEN:
        raise ValidationError({"survey": _("This survey is not open.")}, code="closed")
    if channel not in AnswerChannel.values:
        raise ValidationError({"channel": _("Use one of: %s.") % ", ".join(AnswerChannel.values)})
    if interaction is not None and customer is None:
        customer = interaction.customer
    if language is None:
        language = customer.language if customer is not None else "fr"
    invitation = Invitation(
        survey=survey,
        token=_token(),
        short_code=_short_code(),
        customer=customer,
        interaction=interaction,
        language=language if language in ("fr", "en") else "fr",
        channel=channel,
        expires_at=timezone.now() + timedelta(days=valid_days),
        trigger=trigger,
        kiosk=kiosk,
    )
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        if (
            interaction is not None
            and Invitation.objects.filter(survey=survey, interaction=interaction).exists()
        ):
            raise ValidationError(
                {"interaction": _("This survey already asked about this interaction.")},
                code="duplicate",
            ) from None
        raise
    return invitation


def public_invitation_create(*, public_code: str, language: str = "fr") -> Invitation:
    """An anonymous invitation for one visit of a survey's public QR code link."""
    survey = Survey.objects.filter(public_code=public_code or "-").first()
    if survey is None:
        raise ValidationError({"code": _("This link is not known.")}, code="unknown")
    return invitation_create(
        survey=survey,
        channel=AnswerChannel.QR,
        language=language,
        valid_days=PUBLIC_INVITATION_DAYS,
    )


def kiosk_invitation_create(*, key: str, language: str = "fr", now=None) -> Invitation:
    """A fresh anonymous invitation for the next person at a kiosk, within its rate limit.

    The limit is counted in the database, so it holds across web processes.
    """
    now = now or timezone.now()
    kiosk = Kiosk.objects.select_related("survey").filter(key=key or "-", active=True).first()
    if kiosk is None:
        raise ValidationError({"kiosk": _("This kiosk is not known.")}, code="unknown")
    recent = Invitation.objects.filter(kiosk=kiosk, created_at__gt=now - timedelta(minutes=1))
    if recent.count() >= kiosk.max_per_minute:
        raise ValidationError(
            {"kiosk": _("Many answers in a short time: please wait a minute.")}, code="rate"
        )
    return invitation_create(
        survey=kiosk.survey,
        channel=AnswerChannel.KIOSK,
        language=language,
        valid_days=PUBLIC_INVITATION_DAYS,
        kiosk=kiosk,
    )


def invitation_by_short_code(code: str) -> Invitation:
    """The invitation an agent keys in from paper, or raise naming `short_code`."""
    invitation = (
        Invitation.objects.select_related("survey", "customer", "interaction")
        .filter(short_code=short_code_normalise(code) or "-")
        .first()
    )
    if invitation is None:
        raise ValidationError({"short_code": _("No invitation has this code.")}, code="unknown")
    return invitation


@transaction.atomic
def response_enter(
    *, actor: Actor, invitation: Invitation, answers: dict, channel: str, now=None
) -> Response:
    """Answers an agent keys in for a customer: from paper, or while talking on the phone.

    The same checks as the customer's own answers; the agent's entry is audited.
    """
    if channel not in (AnswerChannel.PAPER, AnswerChannel.PHONE):
        raise ValidationError({"channel": _("Agents enter paper or phone answers.")})
    response = response_submit(
        token=invitation.token, answers=answers, complete=True, channel=channel, now=now
    )
    audit_record(
        actor=actor,
        action="response_entered",
        target=f"response:{response.pk}",
        customer_id=response.customer_id,
    )
    return response


def _shown(question: Question, given: dict) -> bool:
    """Whether the question is shown, given the answers so far (its condition, if any)."""
    condition = question.show_if
    if not condition:
        return True
    value = given.get(condition["question"])
    if value is None:
        return False
    expected, op = condition["value"], condition["op"]
    if isinstance(value, list):  # a multiple choice meets "eq" or "in" when one choice does
        return (
            any(_meets(v, op, expected) for v in value)
            if op in ("eq", "in")
            else (not any(v == expected for v in value))
        )
    return _meets(value, op, expected)


def _meets(value, op: str, expected) -> bool:
    if op == "eq":
        return value == expected
    if op == "ne":
        return value != expected
    if op == "lte":
        return value <= expected
    if op == "gte":
        return value >= expected
    return value in expected  # "in"


def _answer_problem(question: Question, value) -> str | None:
    kind = question.type
    if kind in SCALES or kind == QuestionType.RATING:
        if not isinstance(value, int) or isinstance(value, bool):
            return _("Give a whole number from %(low)d to %(high)d.") % {
                "low": question.scale_min,
                "high": question.scale_max,
            }
        if not question.scale_min <= value <= question.scale_max:
            return _("Give a whole number from %(low)d to %(high)d.") % {
                "low": question.scale_min,
                "high": question.scale_max,
            }
    elif kind == QuestionType.SINGLE:
        if value not in {c["value"] for c in question.choices}:
            return _("Pick one of the choices offered.")
    elif kind == QuestionType.MULTIPLE:
        offered = {c["value"] for c in question.choices}
        if (
            not isinstance(value, list)
            or len(set(value)) != len(value)
            or any(v not in offered for v in value)
        ):
            return _("Pick among the choices offered, each at most once.")
    elif kind == QuestionType.TEXT:
        if not isinstance(value, str):
            return _("Write text.")
        if len(value) > question.max_length:
            return _("At most %d characters.") % question.max_length
    elif kind == QuestionType.YES_NO and not isinstance(value, bool):
        return _("Answer yes or no.")
    return None


def answers_clean(survey: Survey, answers: dict, *, complete: bool) -> dict[Question, object]:
    """Check answers (by question key) against the survey; raise naming `answers.<key>`.

    Text is kept exactly as typed (HTML included): it is escaped wherever it is shown.
    """
    if not isinstance(answers, dict):
        raise ValidationError({"answers": _("Give the answers by question key.")})
    questions = list(survey.questions.all())
    by_key = {q.key: q for q in questions}
    problems = {}
    for key in answers:
        if key not in by_key:
            problems[f"answers.{key}"] = _("This survey has no such question.")
    given: dict[str, object] = {}
    cleaned: dict[Question, object] = {}
    for question in questions:  # in order, so that branching sees earlier answers
        value = answers.get(question.key)
        if isinstance(value, str) and question.type != QuestionType.TEXT:
            value = value.strip() or None
        if question.type == QuestionType.TEXT and isinstance(value, str) and not value.strip():
            value = None
        if value in (None, []):
            if complete and question.required and _shown(question, given):
                problems[f"answers.{question.key}"] = _("This question needs an answer.")
            continue
        if not _shown(question, given):
            problems[f"answers.{question.key}"] = _(
                "This question is not asked after the earlier answers."
            )
            continue
        problem = _answer_problem(question, value)
        if problem:
            problems[f"answers.{question.key}"] = problem
            continue
        given[question.key] = value
        cleaned[question] = value
    if problems:
        raise ValidationError(problems)
    return cleaned


def nps_category(score: int | None) -> str:
    if score is None:
        return ""
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def response_submit(
    *, token: str, answers: dict, complete: bool, channel: str | None = None, now=None
) -> Response:
    """Save the answers of one invitation: partial (to resume later) or complete (final).

    The invitation's row is locked, and the database allows one response per invitation,
    so two submissions at once give one response, never two.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _response_submit(token, answers, complete, channel, now)
    except IntegrityError:
        # Another submission created the response between our check and our insert.
        raise ValidationError(
            {"token": _("This invitation was already answered.")}, code="used"
        ) from None


def _response_submit(token, answers, complete, channel, now) -> Response:
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("survey", "interaction")
        .filter(token=token or "")
        .first()
    )
    if invitation is None:
        raise ValidationError({"token": _("This link is not known.")}, code="unknown")
    if invitation.expires_at <= now:
        raise ValidationError({"token": _("This invitation has expired.")}, code="expired")
    survey = invitation.survey
    if survey.status != Survey.Status.OPEN:
        raise ValidationError({"token": _("This survey is closed.")}, code="closed")
    response = Response.objects.filter(invitation=invitation).first()
    if response is not None and response.status == Response.Status.COMPLETE:
        raise ValidationError({"token": _("This invitation was already answered.")}, code="used")
    cleaned = answers_clean(survey, answers, complete=complete)
    if response is None:
        interaction = invitation.interaction
        response = Response(
            survey=survey,
            invitation=invitation,
            customer_id=invitation.customer_id,
            interaction=interaction,
            touchpoint_id=interaction.touchpoint_id if interaction else survey.touchpoint_id,
            team_id=interaction.team_id if interaction else None,
            partner_id=interaction.partner_id if interaction else None,
            site_id=interaction.site_id if interaction else _kiosk_site_id(invitation),
            channel=channel or invitation.channel,
            language=invitation.language,
            started_at=now,
        )
    nps = next((v for q, v in cleaned.items() if q.type == QuestionType.NPS), None)
    response.nps, response.nps_category = nps, nps_category(nps)
    if complete:
        response.status, response.completed_at = Response.Status.COMPLETE, now
    response.save()
    response.answers.all().delete()  # a resumed answer replaces what was saved before
    Answer.objects.bulk_create([_answer(response, q, v) for q, v in cleaned.items()])
    return response


def _kiosk_site_id(invitation: Invitation) -> int | None:
    if invitation.kiosk_id is None:
        return None
    return Kiosk.objects.filter(pk=invitation.kiosk_id).values_list("site_id", flat=True).first()


def _answer(response: Response, question: Question, value) -> Answer:
    answer = Answer(response=response, question=question)
    if question.type == QuestionType.TEXT:
        answer.text = value
    elif question.type == QuestionType.MULTIPLE:
        answer.choices = value
    elif question.type == QuestionType.SINGLE:
        answer.choices = [value]
    elif question.type == QuestionType.YES_NO:
        answer.flag = value
    else:
        answer.number = value
    return answer
