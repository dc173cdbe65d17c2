"""Every write of the feedback area: surveys, invitations and the answers they collect."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

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


def refusal(field: str, message: str, code: str) -> ValidationError:
    """A refusal naming its field, with a code callers can act on (pages pick their reply).

    The code goes on the field's own error: Django drops a `code=` given beside a dict.
    """
    return ValidationError({field: ValidationError(message, code=code)})


def refusal_code(exc: ValidationError) -> str:
    """The code a refusal carries ("used", "expired", "duplicate"…), wherever it was put."""
    if getattr(exc, "code", None):
        return exc.code
    for errors in getattr(exc, "error_dict", {}).values():
        for error in errors:
            if error.code:
                return error.code
    return ""


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
        raise refusal("survey", _("This survey is not open."), "closed")
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
            raise refusal(
                "interaction", _("This survey already asked about this interaction."), "duplicate"
            ) from None
        raise
    return invitation


def public_invitation_create(*, public_code: str, language: str = "fr") -> Invitation:
    """An anonymous invitation for one visit of a survey's public QR code link."""
    survey = Survey.objects.filter(public_code=public_code or "-").first()
    if survey is None:
        raise refusal("code", _("This link is not known."), "unknown")
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
        raise refusal("kiosk", _("This kiosk is not known."), "unknown")
    recent = Invitation.objects.filter(kiosk=kiosk, created_at__gt=now - timedelta(minutes=1))
    if recent.count() >= kiosk.max_per_minute:
        raise refusal("kiosk", _("Many answers in a short time: please wait a minute."), "rate")
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
        raise refusal("short_code", _("No invitation has this code."), "unknown")
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


question_shown = _shown  # public name, for the pages that split a survey into steps


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


@transaction.atomic
def invitation_request(
    *,
    actor: Actor,
    survey: int,
    customer: int | None,
    interaction: int | None,
    channel: str,
    language: str | None,
    send: bool,
) -> Invitation:
    """An invitation asked for by another system (API): sent through the membrane, or only
    made (a link for a receipt's QR code, a code read out on the phone)."""
    from cxcore.customers.models import Customer
    from cxcore.interactions.models import Interaction

    problems = {}
    found_survey = Survey.objects.select_related("invitation_message").filter(pk=survey).first()
    if found_survey is None:
        problems["survey"] = _("No survey has this id.")
    found_customer = found_interaction = None
    if customer is not None:
        found_customer = Customer.objects.filter(pk=customer).first()
        if found_customer is None:
            problems["customer"] = _("No customer has this id.")
    if interaction is not None:
        found_interaction = (
            Interaction.objects.select_related("customer").filter(pk=interaction).first()
        )
        if found_interaction is None:
            problems["interaction"] = _("No interaction has this id.")
        elif found_customer is not None and found_interaction.customer_id != found_customer.pk:
            problems["interaction"] = _("This interaction is another customer's.")
    if send and found_customer is None and found_interaction is None and "customer" not in problems:
        problems["customer"] = _("Sending needs a customer (or an interaction).")
    if problems:
        raise ValidationError(problems)
    if send:
        invitation = invitation_send(
            survey=found_survey,
            customer=found_customer or found_interaction.customer,
            interaction=found_interaction,
        )
    else:
        invitation = invitation_create(
            survey=found_survey,
            channel=channel,
            customer=found_customer,
            interaction=found_interaction,
            language=language,
        )
    audit_record(
        actor=actor,
        action="invitation_sent" if send else "invitation_made",
        target=f"invitation:{invitation.pk}",
        customer_id=invitation.customer_id,
    )
    return invitation


def responses_follow_merge(*, survivor, merged, actor: Actor, **_signal) -> None:
    """A merged customer's invitations and answers belong to the survivor from now on."""
    Invitation.objects.filter(customer=merged).update(customer=survivor)
    moved = Response.objects.filter(customer=merged).update(customer=survivor)
    if moved:
        audit_record(
            actor=actor,
            action="responses_moved",
            target=f"customer:{merged.pk}",
            customer_id=survivor.pk,
            changes={"responses": moved},
        )


# --- answers collected elsewhere: bulk import ----------------------------------------------------

IMPORT_MAX_ITEMS = 5000
IMPORT_FIELDS = (
    "source",
    "external_id",
    "invitation",
    "customer",
    "interaction",
    "channel",
    "language",
    "started_at",
    "completed_at",
    "answers",
)


def _import_item_clean(survey: Survey, n: int, raw, problems: dict) -> dict | None:
    from django.utils.dateparse import parse_datetime

    at = f"items.{n}"
    if not isinstance(raw, dict):
        problems[at] = _("Each item is an object.")
        return None
    unknown = sorted(set(raw) - set(IMPORT_FIELDS))
    if unknown:
        problems[f"{at}.{unknown[0]}"] = _("Unknown field.")
        return None
    item = {"n": n}
    for name, limit in (("source", 50), ("external_id", 100)):
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            problems[f"{at}.{name}"] = _("Required: it makes a replay change nothing.")
        elif len(value) > limit:
            problems[f"{at}.{name}"] = _("At most %d characters.") % limit
        else:
            item[name] = value.strip()
    channel = raw.get("channel") or AnswerChannel.IMPORT
    if channel not in AnswerChannel.values:
        problems[f"{at}.channel"] = _("Use one of: %s.") % ", ".join(AnswerChannel.values)
    item["channel"] = channel
    language = raw.get("language") or "fr"
    if language not in ("fr", "en"):
        problems[f"{at}.language"] = _("Use fr or en.")
    item["language"] = language
    for name in ("started_at", "completed_at"):
        value = raw.get(name)
        moment = parse_datetime(value) if isinstance(value, str) else None
        if value is not None and (moment is None or timezone.is_naive(moment)):
            problems[f"{at}.{name}"] = _("A date and time with its zone (ISO 8601).")
        item[name] = moment
    if item["completed_at"] is None and f"{at}.completed_at" not in problems:
        problems[f"{at}.completed_at"] = _("Required: when the customer answered.")
    for name in ("customer", "interaction"):
        value = raw.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            problems[f"{at}.{name}"] = _("Give the id, a whole number.")
        item[name] = value
    # The short code printed on a paper questionnaire (or sent in a letter): the answer is
    # that invitation's, with its customer and interaction.
    code = raw.get("invitation")
    if code is not None and not isinstance(code, str):
        problems[f"{at}.invitation"] = _("Give the invitation's short code.")
    item["invitation"] = short_code_normalise(code) if isinstance(code, str) else None
    try:
        item["answers"] = answers_clean(survey, raw.get("answers"), complete=True)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            problems[f"{at}.{field}"] = " ".join(messages)
    return item


def responses_import(*, actor: Actor, survey: Survey, items: list) -> dict:
    """Complete responses collected elsewhere (another tool, a paper campaign), all or nothing.

    Each item names its `source` and `external_id`: a replay of the same item changes nothing
    and is counted as existing. Any invalid item refuses the whole batch, naming
    `items.N.field`, so that a batch is never half-written.
    """
    from cxcore.customers.models import Customer
    from cxcore.interactions.models import Interaction

    if survey.status == Survey.Status.DRAFT:
        raise ValidationError({"survey": _("Open the survey before importing answers.")})
    if not isinstance(items, list) or not items:
        raise ValidationError({"items": _("Give a list of responses.")})
    if len(items) > IMPORT_MAX_ITEMS:
        raise ValidationError({"items": _("At most %d responses a call.") % IMPORT_MAX_ITEMS})
    problems: dict[str, str] = {}
    cleaned = [_import_item_clean(survey, n, raw, problems) for n, raw in enumerate(items)]
    cleaned = [item for item in cleaned if item is not None]
    seen: set[tuple] = set()
    for item in cleaned:
        key = (item.get("source"), item.get("external_id"))
        if key in seen:
            problems[f"items.{item['n']}.external_id"] = _("Twice in this batch.")
        seen.add(key)
    customers = set(
        Customer.objects.filter(
            pk__in={i["customer"] for i in cleaned if i["customer"]}
        ).values_list("pk", flat=True)
    )
    interactions = Interaction.objects.in_bulk(
        {i["interaction"] for i in cleaned if i["interaction"]}
    )
    invitations = {
        invitation.short_code: invitation
        for invitation in Invitation.objects.filter(
            short_code__in={i["invitation"] for i in cleaned if i["invitation"]}
        ).select_related("interaction", "response")
    }
    for item in cleaned:
        at = f"items.{item['n']}"
        if item["customer"] and item["customer"] not in customers:
            problems[f"{at}.customer"] = _("No customer has this id.")
        if item["interaction"] and item["interaction"] not in interactions:
            problems[f"{at}.interaction"] = _("No interaction has this id.")
        if item["invitation"]:
            invitation = invitations.get(item["invitation"])
            answered = getattr(invitation, "response", None) if invitation else None
            if invitation is None:
                problems[f"{at}.invitation"] = _("No invitation has this code.")
            elif invitation.survey_id != survey.pk:
                problems[f"{at}.invitation"] = _("This invitation is another survey's.")
            elif answered is not None and (answered.source, answered.external_id) != (
                item.get("source"),
                item.get("external_id"),
            ):
                problems[f"{at}.invitation"] = _("This invitation was already answered.")
            else:
                item["invitation"] = invitation
                if invitation.interaction_id:
                    interactions[invitation.interaction_id] = invitation.interaction
                    item["interaction"] = item["interaction"] or invitation.interaction_id
                item["customer"] = item["customer"] or invitation.customer_id
    if problems:
        raise ValidationError(problems)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return _responses_import_write(actor, survey, cleaned, interactions)
        except IntegrityError:
            continue  # a concurrent replay wrote some of them: the next pass counts them existing
    raise ValidationError(
        {"items": _("The batch conflicts with a concurrent import; send it again.")}
    )


def _responses_import_write(
    actor: Actor, survey: Survey, cleaned: list[dict], interactions
) -> dict:
    existing = set()
    for source in {i["source"] for i in cleaned}:
        ids = [i["external_id"] for i in cleaned if i["source"] == source]
        existing.update(
            (source, external_id)
            for external_id in Response.objects.filter(
                source=source, external_id__in=ids
            ).values_list("external_id", flat=True)
        )
    new = [i for i in cleaned if (i["source"], i["external_id"]) not in existing]
    responses = []
    for item in new:
        interaction = interactions.get(item["interaction"])
        nps = next((v for q, v in item["answers"].items() if q.type == QuestionType.NPS), None)
        responses.append(
            Response(
                survey=survey,
                invitation=item["invitation"] or None,
                customer_id=item["customer"] or (interaction.customer_id if interaction else None),
                interaction=interaction,
                touchpoint_id=interaction.touchpoint_id if interaction else survey.touchpoint_id,
                team_id=interaction.team_id if interaction else None,
                partner_id=interaction.partner_id if interaction else None,
                site_id=interaction.site_id if interaction else None,
                channel=item["channel"],
                language=item["language"],
                status=Response.Status.COMPLETE,
                nps=nps,
                nps_category=nps_category(nps),
                started_at=item["started_at"] or item["completed_at"],
                completed_at=item["completed_at"],
                source=item["source"],
                external_id=item["external_id"],
            )
        )
    Response.objects.bulk_create(responses)
    if responses and responses[0].pk is None:  # backends that don't return ids on bulk insert
        by_key = {
            (source, external_id): pk
            for source, external_id, pk in Response.objects.filter(
                survey=survey, source__in={r.source for r in responses}
            ).values_list("source", "external_id", "pk")
        }
        for response in responses:
            response.pk = by_key[(response.source, response.external_id)]
    Answer.objects.bulk_create(
        [
            _answer(response, question, value)
            for response, item in zip(responses, new, strict=True)
            for question, value in item["answers"].items()
        ]
    )
    responses_announce([response.pk for response in responses])
    audit_record(
        actor=actor,
        action="responses_imported",
        target=f"survey:{survey.pk}",
        changes={"created": len(new), "existing": len(cleaned) - len(new)},
    )
    return {"created": len(new), "existing": len(cleaned) - len(new)}


# --- sending invitations through the membrane, and triggers ------------------------------------

# The membrane's channel of the invitation → where the customer answers.
ANSWER_CHANNEL_OF_MESSAGE = {
    "email": AnswerChannel.WEB,
    "webhook": AnswerChannel.WEB,
    "sms": AnswerChannel.SMS,
    "postal": AnswerChannel.PAPER,
    "phone": AnswerChannel.PHONE,
}


def invitation_send(
    *, survey: Survey, customer, interaction=None, trigger=None, now=None
) -> Invitation:
    """Invite a customer as a membrane message: consent, preferences, recontact and caps apply.

    The invitation is kept whatever the membrane decides, `blocked` when it said no, so that a
    trigger never asks twice about one interaction. Raises code "duplicate" when this survey
    already asked about the interaction.
    """
    from cxcore.membrane.policy import BLOCK
    from cxcore.membrane.services import decision_make

    message = survey.invitation_message
    if message is None:
        raise ValidationError(
            {"invitation_message": _("Choose the message that invites customers to this survey.")}
        )
    with transaction.atomic():
        invitation = invitation_create(
            survey=survey,
            channel=AnswerChannel.WEB,
            customer=customer,
            interaction=interaction,
            trigger=trigger,
        )
        decided, recorded = decision_make(
            customer=customer,
            message=message,
            interaction_id=interaction.pk if interaction is not None else None,
            record=True,
            now=now,
        )
        invitation.decision = recorded
        invitation.blocked = decided.outcome == BLOCK
        invitation.channel = ANSWER_CHANNEL_OF_MESSAGE.get(decided.channel, AnswerChannel.WEB)
        if decided.language in ("fr", "en"):
            invitation.language = decided.language
        invitation.save(update_fields=["decision", "blocked", "channel", "language"])
    return invitation


# Deterministic sampling: the same interaction is always in or out of a trigger's sample, so a
# sweep that runs again never draws twice. A multiplicative hash, modulo a prime, spreads
# consecutive ids; it is computed in SQL so that sampled-out interactions are never read.
_SAMPLE_MULTIPLIER = 2654435761
_SAMPLE_PRIME = 1000003
SWEEP_BATCH = 2000


def _sample_bucket(trigger_id: int):
    from django.db.models import F, Value

    return (
        (F("id") * Value(_SAMPLE_MULTIPLIER) + Value(trigger_id))
        % Value(_SAMPLE_PRIME)
        % Value(100)
    )


def triggers_due(*, now=None):
    """Interactions a trigger should invite about now: old enough, recent enough, sampled in,
    with a customer, and not yet asked about (a trigger never invites twice)."""
    from django.db.models import Exists, OuterRef

    from cxcore.feedback.models import SurveyTrigger
    from cxcore.interactions.models import Interaction

    now = now or timezone.now()
    for trigger in SurveyTrigger.objects.select_related("survey").filter(
        active=True, survey__status=Survey.Status.OPEN
    ):
        asked = Invitation.objects.filter(survey_id=trigger.survey_id, interaction=OuterRef("pk"))
        due = (
            Interaction.objects.filter(
                touchpoint_id=trigger.touchpoint_id,
                customer__isnull=False,
                occurred_at__lte=now - timedelta(minutes=trigger.delay_minutes),
                occurred_at__gte=now - timedelta(days=trigger.max_age_days),
            )
            .alias(bucket=_sample_bucket(trigger.pk))
            .filter(bucket__lt=trigger.sampling_percent)
            .exclude(Exists(asked))
            .select_related("customer")
            .order_by("occurred_at", "id")
        )
        yield trigger, due


def triggers_fire(*, now=None, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Invite for every due interaction (at most `limit` a run); return counts by outcome."""
    now = now or timezone.now()
    counts = {"invited": 0, "blocked": 0, "skipped": 0}
    for trigger, due in triggers_due(now=now):
        for interaction in due[:limit]:
            try:
                invitation = invitation_send(
                    survey=trigger.survey,
                    customer=interaction.customer,
                    interaction=interaction,
                    trigger=trigger,
                    now=now,
                )
            except ValidationError:  # invited meanwhile by another worker, or no message
                counts["skipped"] += 1
                continue
            counts["blocked" if invitation.blocked else "invited"] += 1
    return counts


def triggers_next_due(*, now=None):
    """When the next interaction of an active trigger becomes due, if one is waiting."""
    from django.db.models import Min

    from cxcore.feedback.models import SurveyTrigger
    from cxcore.interactions.models import Interaction

    now = now or timezone.now()
    soonest = None
    for trigger in SurveyTrigger.objects.filter(active=True, survey__status=Survey.Status.OPEN):
        delay = timedelta(minutes=trigger.delay_minutes)
        waiting = Interaction.objects.filter(
            touchpoint_id=trigger.touchpoint_id, occurred_at__gt=now - delay
        ).aggregate(first=Min("occurred_at"))["first"]
        if waiting is not None and (soonest is None or waiting + delay < soonest):
            soonest = waiting + delay
    return soonest


# --- answers by SMS reply ----------------------------------------------------------------------

SMS_SCORE = re.compile(r"^\s*(\d{1,2})(?!\d)")
SMS_COMMENT_WITHIN = timedelta(days=1)
SCORE_TYPES = (QuestionType.NPS, QuestionType.CSAT, QuestionType.CES, QuestionType.RATING)


def sms_reply_record(*, phone: str, text: str, now=None) -> dict:
    """An SMS reply to an invitation: the number answers the first score question and
    completes the response; a message that follows within a day becomes its comment.

    Returns {"status": recorded|commented|invalid|ignored, "reply": text to send back or ""}.
    The sender's number is matched to customers; their newest open SMS invitation is answered.
    """
    from cxcore.customers.queries import customers_reached_at
    from cxcore.customers.services import identity_normalise

    now = now or timezone.now()
    number = identity_normalise("phone", phone, field_name="from")
    text = str(text or "").strip()
    if not text:
        raise ValidationError({"text": _("The message is empty.")})
    customer_ids = customers_reached_at("phone", number)
    invitations = (
        Invitation.objects.filter(
            customer_id__in=customer_ids,
            channel=AnswerChannel.SMS,
            blocked=False,
            survey__status=Survey.Status.OPEN,
        )
        .select_related("survey")
        .order_by("-created_at", "-id")
    )
    for invitation in invitations[:5]:
        response = Response.objects.filter(invitation=invitation).first()
        if response is None or response.status == Response.Status.PARTIAL:
            if invitation.expires_at <= now:
                continue
            return _sms_score(invitation, text, now)
        if response.completed_at and now - response.completed_at <= SMS_COMMENT_WITHIN:
            return _sms_comment(response, text)
    return {"status": "ignored", "reply": ""}


def _sms_score(invitation: Invitation, text: str, now) -> dict:
    with override(invitation.language):
        question = invitation.survey.questions.filter(type__in=SCORE_TYPES).first()
        if question is None:
            return {"status": "ignored", "reply": ""}
        match = SMS_SCORE.match(text)
        value = int(match.group(1)) if match else None
        if value is None or not question.scale_min <= value <= question.scale_max:
            return {
                "status": "invalid",
                "reply": _("Please reply with a number from %(low)d to %(high)d.")
                % {"low": question.scale_min, "high": question.scale_max},
            }
        # Other required questions cannot be asked by SMS: the score alone completes it.
        answers = {question.key: value}
        try:
            response_submit(
                token=invitation.token,
                answers=answers,
                complete=True,
                channel=AnswerChannel.SMS,
                now=now,
                require_all=False,
            )
        except ValidationError as exc:
            if refusal_code(exc) == "used":
                return {"status": "ignored", "reply": ""}
            raise
        comment = invitation.survey.questions.filter(type=QuestionType.TEXT).exists()
        reply = (
            _("Thank you! Tell us why in a few words, if you wish.")
            if comment
            else _("Thank you for your answer!")
        )
        return {"status": "recorded", "reply": reply}


def _sms_comment(response: Response, text: str) -> dict:
    question = response.survey.questions.filter(type=QuestionType.TEXT).first()
    if question is None or response.answers.filter(question=question).exists():
        return {"status": "ignored", "reply": ""}
    Answer.objects.create(response=response, question=question, text=text[: question.max_length])
    responses_announce([response.pk])
    with override(response.language):
        return {"status": "commented", "reply": _("Thank you, we read every message.")}


def nps_category(score: int | None) -> str:
    if score is None:
        return ""
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def response_submit(
    *,
    token: str,
    answers: dict,
    complete: bool,
    channel: str | None = None,
    now=None,
    require_all: bool = True,
) -> Response:
    """Save the answers of one invitation: partial (to resume later) or complete (final).

    `require_all=False` completes without the other required questions, for a channel that
    can only ask one (an SMS reply). The invitation's row is locked, and the database allows
    one response per invitation, so two submissions at once give one response, never two.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            response = _response_submit(token, answers, complete, channel, now, require_all)
    except IntegrityError:
        # Another submission created the response between our check and our insert.
        raise refusal("token", _("This invitation was already answered."), "used") from None
    responses_announce([response.pk])
    return response


def responses_announce(response_ids: list[int]) -> None:
    """Once the write commits, tell the areas above (text analysis) which responses changed."""
    from cxcore.feedback.signals import responses_recorded

    if response_ids:
        transaction.on_commit(
            lambda: responses_recorded.send(sender=Response, response_ids=response_ids)
        )


def _response_submit(token, answers, complete, channel, now, require_all=True) -> Response:
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("survey", "interaction")
        .filter(token=token or "")
        .first()
    )
    if invitation is None:
        raise refusal("token", _("This link is not known."), "unknown")
    if invitation.expires_at <= now:
        raise refusal("token", _("This invitation has expired."), "expired")
    survey = invitation.survey
    if survey.status != Survey.Status.OPEN:
        raise refusal("token", _("This survey is closed."), "closed")
    response = Response.objects.filter(invitation=invitation).first()
    if response is not None and response.status == Response.Status.COMPLETE:
        raise refusal("token", _("This invitation was already answered."), "used")
    cleaned = answers_clean(survey, answers, complete=complete and require_all)
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


# --- the survey pages: a draft's own fields, triggers, kiosks, paper batches -------------------
# (Imports of this block stay inside the functions: the block is appended to a shared file.)

TRIGGER_MAX_DELAY_MINUTES = 43200  # 30 days
TRIGGER_MAX_AGE_DAYS = 365
KIOSK_MAX_PER_MINUTE = 60
PAPER_BATCH_MAX = 500
# Paper comes back by post or over the counter, slowly: its codes stay valid longer.
PAPER_INVITATION_DAYS = 90


def _whole_number_problem(value, low: int, high: int) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        return _("Give a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
    return None


def _invitation_message_clean(value):
    """The membrane message (purpose "feedback") that invites customers, from it or its id."""
    from cxcore.membrane.queries import messages_for_purpose

    if value in (None, ""):
        return None
    pk = getattr(value, "pk", value)
    message = messages_for_purpose("feedback").filter(pk=pk).first() if str(pk).isdigit() else None
    if message is None:
        raise ValidationError(
            {"invitation_message": _("Choose a message whose purpose is feedback surveys.")}
        )
    return message


@transaction.atomic
def survey_update(*, actor: Actor, survey: Survey, data: dict) -> Survey:
    """Change a draft survey: the fields given in `data` (the others are kept), its invitation
    message (a "feedback" message, or None) and, when `data` has "questions", all its questions.
    """
    if survey.status != Survey.Status.DRAFT:
        raise ValidationError({"status": _("Only a draft survey can change.")})
    current = survey_export(survey)
    current.pop("format")
    current.pop("questions")
    current["invitation_message"] = survey.invitation_message_id
    merged = {**current, **{k: v for k, v in data.items() if k != "questions"}}
    problems = {}
    fields: dict = {}
    try:
        fields = _survey_fields_clean(merged)
    except ValidationError as exc:
        problems.update(exc.message_dict)
    try:
        fields["invitation_message"] = _invitation_message_clean(merged["invitation_message"])
    except ValidationError as exc:
        problems.update(exc.message_dict)
    questions = None
    if "questions" in data:
        try:
            questions = questions_clean(data["questions"])
        except ValidationError as exc:
            problems.update(exc.message_dict)
    if problems:
        raise ValidationError(problems)
    changed = sorted(name for name, value in fields.items() if getattr(survey, name) != value)
    for name in changed:
        setattr(survey, name, fields[name])
    if changed:
        survey.save(update_fields=changed)
    if questions is not None:
        survey.questions.all().delete()
        _questions_write(survey, questions)
        changed.append("questions")
    audit_record(
        actor=actor,
        action="survey_changed",
        target=f"survey:{survey.pk}",
        changes={"fields": changed},
    )
    return survey


@transaction.atomic
def trigger_save(*, actor: Actor, survey: Survey, data: dict, trigger=None):
    """Add a trigger to the survey, or change one of its triggers (`active` False retires it).

    A transactional survey is triggered only at its own touchpoint; a closed one invites no more.
    """
    from cxcore.feedback.models import SurveyTrigger

    if trigger is not None and trigger.survey_id != survey.pk:
        raise ValidationError({"trigger": _("This trigger belongs to another survey.")})
    problems = {}
    code = data.get("touchpoint")
    touchpoint = Touchpoint.objects.filter(code=code).first() if code else None
    if touchpoint is None:
        problems["touchpoint"] = _("Choose a known touchpoint.")
    elif (
        survey.kind == SurveyKind.TRANSACTIONAL
        and survey.touchpoint_id
        and touchpoint.pk != survey.touchpoint_id
    ):
        problems["touchpoint"] = (
            _("A transactional survey is triggered at its own touchpoint (%s).")
            % survey.touchpoint.code
        )
    limits = {
        "delay_minutes": (0, TRIGGER_MAX_DELAY_MINUTES),
        "sampling_percent": (0, 100),
        "max_age_days": (1, TRIGGER_MAX_AGE_DAYS),
    }
    for name, (low, high) in limits.items():
        problem = _whole_number_problem(data.get(name), low, high)
        if problem:
            problems[name] = problem
    active = data.get("active", True)
    if not isinstance(active, bool):
        problems["active"] = _("Give true or false.")
    elif active and survey.status == Survey.Status.CLOSED:
        problems["active"] = _("A closed survey invites no more customers.")
    if problems:
        raise ValidationError(problems)
    created = trigger is None
    if created:
        trigger = SurveyTrigger(survey=survey)
    trigger.touchpoint = touchpoint
    trigger.delay_minutes = data["delay_minutes"]
    trigger.sampling_percent = data["sampling_percent"]
    trigger.max_age_days = data["max_age_days"]
    trigger.active = active
    trigger.save()
    audit_record(
        actor=actor,
        action="trigger_created" if created else "trigger_changed",
        target=f"trigger:{trigger.pk}",
        changes={
            "survey": survey.pk,
            "touchpoint": touchpoint.code,
            "delay_minutes": trigger.delay_minutes,
            "sampling_percent": trigger.sampling_percent,
            "max_age_days": trigger.max_age_days,
            "active": trigger.active,
        },
    )
    return trigger


@transaction.atomic
def kiosk_create(*, actor: Actor, survey: Survey, data: dict) -> Kiosk:
    """A kiosk for the survey, with its secret key (its URL is /kiosk/<key>/)."""
    from cxcore.interactions.models import Site

    problems = {}
    if survey.status == Survey.Status.CLOSED:
        problems["survey"] = _("A closed survey takes no more answers.")
    name = str(data.get("name") or "").strip()
    if not name:
        problems["name"] = _("Give the kiosk a name.")
    elif len(name) > 100:
        problems["name"] = _("At most 100 characters.")
    site = None
    if data.get("site"):
        site = Site.objects.filter(code=data["site"]).first()
        if site is None:
            problems["site"] = _("Choose a known site.")
    problem = _whole_number_problem(data.get("max_per_minute", 6), 1, KIOSK_MAX_PER_MINUTE)
    if problem:
        problems["max_per_minute"] = problem
    if problems:
        raise ValidationError(problems)
    kiosk = Kiosk.objects.create(
        survey=survey,
        name=name,
        site=site,
        key=_token(),
        max_per_minute=data.get("max_per_minute", 6),
    )
    audit_record(actor=actor, action="kiosk_created", target=f"kiosk:{kiosk.pk}")
    return kiosk


@transaction.atomic
def kiosk_key_replace(*, actor: Actor, kiosk: Kiosk) -> Kiosk:
    """A new secret key: the old URL (a lost or stolen tablet) stops working at once."""
    kiosk.key = _token()
    kiosk.save(update_fields=["key"])
    audit_record(actor=actor, action="kiosk_key_replaced", target=f"kiosk:{kiosk.pk}")
    return kiosk


@transaction.atomic
def kiosk_deactivate(*, actor: Actor, kiosk: Kiosk) -> Kiosk:
    if not kiosk.active:
        raise ValidationError({"kiosk": _("This kiosk is already switched off.")})
    kiosk.active = False
    kiosk.save(update_fields=["active"])
    audit_record(actor=actor, action="kiosk_deactivated", target=f"kiosk:{kiosk.pk}")
    return kiosk


@transaction.atomic
def paper_invitations_create(
    *, actor: Actor, survey: Survey, count: int, language: str = "fr"
) -> list[Invitation]:
    """`count` anonymous paper invitations, each with the short code an agent keys in later."""
    problem = _whole_number_problem(count, 1, PAPER_BATCH_MAX)
    if problem:
        raise ValidationError({"count": problem})
    if language not in ("fr", "en"):
        raise ValidationError({"language": _("Use one of: %s.") % "fr, en"})
    invitations = [
        invitation_create(
            survey=survey,
            channel=AnswerChannel.PAPER,
            language=language,
            valid_days=PAPER_INVITATION_DAYS,
        )
        for _n in range(count)
    ]
    audit_record(
        actor=actor,
        action="paper_invitations_created",
        target=f"survey:{survey.pk}",
        changes={"count": count, "language": language},
    )
    return invitations
