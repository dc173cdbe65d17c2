"""Reads of the feedback area for pages and the API: surveys, their results and comments."""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncMonth
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cxcore.feedback.models import (
    Answer,
    AnswerChannel,
    Invitation,
    Question,
    QuestionType,
    Response,
    Survey,
)
from cxcore.feedback.stats import mean_t_interval, nps_interval, wilson_interval
from cxcore.interactions.models import Touchpoint

# CSAT's top-2-box: 4 ("satisfied") or 5 ("very satisfied") on its 1..5 scale.
CSAT_TOP_BOX = 4
NPS_CATEGORIES = ("promoter", "passive", "detractor")
SCALE_TYPES = (QuestionType.NPS, QuestionType.CSAT, QuestionType.CES, QuestionType.RATING)
COMPLETE = Response.Status.COMPLETE


def surveys_list() -> QuerySet[Survey]:
    """Surveys with their numbers of questions and complete responses."""
    from django.db.models import IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    # A subquery, not a second join: counting questions and responses in one join multiplies.
    responses = (
        Response.objects.filter(survey=OuterRef("pk"), status=COMPLETE)
        .values("survey")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Survey.objects.select_related("touchpoint").annotate(
        question_count=Count("questions"),
        response_count=Coalesce(Subquery(responses, output_field=IntegerField()), 0),
    )


def survey_get(pk: int) -> Survey:
    return Survey.objects.select_related("touchpoint").prefetch_related("questions").get(pk=pk)


# --- results -----------------------------------------------------------------------------------


def _bound(value, *, end: bool):
    """A date means the whole day in the current time zone; a datetime is taken as given."""
    if value is None or isinstance(value, datetime):
        return value
    day = value + timedelta(days=1) if end else value
    return timezone.make_aware(datetime.combine(day, time.min))


def _within(field: str, date_from, date_to) -> Q:
    """`field` in [date_from, date_to]: a date `date_to` includes its whole day."""
    condition = Q()
    if date_from is not None:
        condition &= Q(**{f"{field}__gte": _bound(date_from, end=False)})
    if date_to is not None:
        end = _bound(date_to, end=True)
        lookup = "lt" if not isinstance(date_to, datetime) else "lte"
        condition &= Q(**{f"{field}__{lookup}": end})
    return condition


def response_conditions(
    prefix: str, *, touchpoint_id=None, channel=None, date_from=None, date_to=None
) -> tuple[Q, Q]:
    """(any response in the period, complete responses in the period), as conditions.

    A complete response belongs to the period it was completed in; a partial one to the
    period it was started in.
    """
    common = Q()
    if touchpoint_id is not None:
        common &= Q(**{f"{prefix}touchpoint_id": touchpoint_id})
    if channel:
        common &= Q(**{f"{prefix}channel": channel})
    complete = Q(**{f"{prefix}status": COMPLETE}) & _within(
        f"{prefix}completed_at", date_from, date_to
    )
    if date_from is None and date_to is None:
        return common, common & complete
    partial = Q(**{f"{prefix}status": Response.Status.PARTIAL}) & _within(
        f"{prefix}started_at", date_from, date_to
    )
    return common & (complete | partial), common & complete


class _Median(Aggregate):
    """PostgreSQL's exact median of an ordered set (one pass, no rows sent to Python)."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False


def _median_seconds(complete: QuerySet[Response], count: int) -> float | None:
    if count == 0:
        return None
    duration = ExpressionWrapper(F("completed_at") - F("started_at"), output_field=DurationField())
    if connection.vendor == "postgresql":
        value = complete.aggregate(median=_Median(duration, output_field=DurationField()))["median"]
        return value.total_seconds() if value is not None else None
    # Elsewhere (SQLite, the small embedded case): the middle one or two rows by duration.
    ordered = (
        complete.annotate(duration=duration).order_by("duration").values_list("duration", flat=True)
    )
    values = list(ordered[(count - 1) // 2 : count // 2 + 1])
    return sum(v.total_seconds() for v in values) / len(values) if values else None


def _month(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return value


def question_text(question: Question) -> str:
    return question.text_fr if (get_language() or "en").startswith("fr") else question.text_en


def _choice_label(choice: dict) -> str:
    language = "fr" if (get_language() or "en").startswith("fr") else "en"
    return choice.get(language) or choice.get("value", "")


def _question_result(question: Question, counts: dict) -> dict:
    """One question's figures from its answers counted by value (number, flag or choices)."""
    kind = question.type
    result = {
        "key": question.key,
        "type": kind,
        "text": question_text(question),
        "n": sum(counts.values()),
        "distribution": [],
    }
    n = result["n"]
    rows: list[tuple] = []  # (value, label, count)
    if kind in SCALE_TYPES:
        by_value: dict[int, int] = defaultdict(int)
        for (number, _flag, _choices), count in counts.items():
            if number is not None:
                by_value[number] += count
        low, high = question.scale_min, question.scale_max
        values = sorted(set(range(low, high + 1)) | set(by_value))
        rows = [(v, str(v), by_value.get(v, 0)) for v in values]
        total = sum(v * c for v, c in by_value.items())
        squares = sum(v * v * c for v, c in by_value.items())
        answered = sum(by_value.values())
        result["mean"] = mean_t_interval(answered, total, squares, bounds=(low, high))
        if kind == QuestionType.CSAT:
            top = sum(c for v, c in by_value.items() if v >= CSAT_TOP_BOX)
            result["top2box"] = wilson_interval(top, answered)
        if kind == QuestionType.NPS:
            result["nps"] = nps_interval(
                sum(c for v, c in by_value.items() if v >= 9),
                sum(c for v, c in by_value.items() if 7 <= v <= 8),
                sum(c for v, c in by_value.items() if v <= 6),
            )
    elif kind in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        by_choice: dict[str, int] = defaultdict(int)
        for (_number, _flag, choices), count in counts.items():
            for value in choices or ():
                by_choice[value] += count
        offered = [c["value"] for c in question.choices]
        labels = {c["value"]: _choice_label(c) for c in question.choices}
        # Values no longer offered (kept in old answers) come last, under their own value.
        values = offered + sorted(v for v in by_choice if v not in labels)
        rows = [(v, labels.get(v, v), by_choice.get(v, 0)) for v in values]
    elif kind == QuestionType.YES_NO:
        by_flag = {True: 0, False: 0}
        for (_number, flag, _choices), count in counts.items():
            if flag is not None:
                by_flag[flag] += count
        rows = [(True, _("Yes"), by_flag[True]), (False, _("No"), by_flag[False])]
    result["distribution"] = [
        {"value": value, "label": label, "n": count, "share": count / n if n else None}
        for value, label, count in rows
    ]
    return result


def _breakdown(cells: dict[tuple, dict], position: int, labels, *, csat: bool) -> list[dict]:
    """Roll (touchpoint, channel, month) cells up along one of the three keys."""
    totals: dict = defaultdict(lambda: defaultdict(int))
    for key, cell in cells.items():
        bucket = totals[key[position]]
        for name, value in cell.items():
            bucket[name] += value
    rows = []
    for value, bucket in totals.items():
        if bucket["complete"] == 0:
            continue
        row = {
            "key": value,
            "label": labels(value),
            "n": bucket["complete"],
            "nps": nps_interval(bucket["promoters"], bucket["passives"], bucket["detractors"]),
        }
        if csat:
            row["csat"] = wilson_interval(bucket["csat_top"], bucket["csat_n"])
        rows.append(row)
    return rows


def _answer_counts(
    questions: list[Question], *, condition: Q | None = None, minus: Q | None = None
) -> dict[int, dict[tuple, int]]:
    """Answers by question and value (number, flag, choices): {question id: {value: count}}.

    Scores group on the (question, number) index alone; the other questions in a second
    GROUP BY. `condition` selects answers through their responses; `minus` takes some off.
    """
    counts: dict[int, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))

    def add(rows, sign: int) -> None:
        for row in rows:
            value = (row.get("number"), row.get("flag"), tuple(row.get("choices") or ()))
            counts[row["question_id"]][value] += sign * row["n"]

    answers = Answer.objects.filter(condition) if condition is not None else Answer.objects.all()
    # Free text is only counted: with the scores, on the same index.
    scores = [q.pk for q in questions if q.type in (*SCALE_TYPES, QuestionType.TEXT)]
    others = [q.pk for q in questions if q.pk not in scores]
    if scores:
        add(
            answers.filter(question_id__in=scores)
            .values("question_id", "number")
            .annotate(n=Count("*"))
            .order_by(),
            1,
        )
    if others:
        add(
            answers.filter(question_id__in=others)
            .values("question_id", "flag", "choices")
            .annotate(n=Count("*"))
            .order_by(),
            1,
        )
    if minus is not None and questions:
        add(
            Answer.objects.filter(question_id__in=scores + others)
            .filter(minus)
            .values("question_id", "number", "flag", "choices")
            .annotate(n=Count("*"))
            .order_by(),
            -1,
        )
    return counts


@contextmanager
def _room_for_aggregates():
    """On PostgreSQL, memory for hashing a million responses at once (the default 4 MB makes
    each join and median spill to temporary files, several times slower)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def survey_results(
    survey: Survey, *, date_from=None, date_to=None, touchpoint_id=None, channel=None
) -> dict:
    """A survey's results, from a handful of aggregate queries (never one row per response).

    Figures count complete responses: a complete response belongs to the period it was
    completed in, a partial one to the period it was started in. The response rate is the
    responses to invitations in the period over the invitations sent in it (created in it and
    not blocked by the membrane), as survey tools count it: near a period's edges, an answer
    may come in the period after its invitation.
    """
    with _room_for_aggregates():
        return _survey_results(
            survey,
            date_from=date_from,
            date_to=date_to,
            touchpoint_id=touchpoint_id,
            channel=channel,
        )


def _survey_results(survey: Survey, *, date_from, date_to, touchpoint_id, channel) -> dict:
    filters = {
        "touchpoint_id": touchpoint_id,
        "channel": channel or None,
        "date_from": date_from,
        "date_to": date_to,
    }
    questions = list(survey.questions.all())
    csat_question = next((q for q in questions if q.type == QuestionType.CSAT), None)

    # 1. Invitations sent in the period (not those the membrane blocked).
    invitations = Invitation.objects.filter(survey=survey, blocked=False).filter(
        _within("created_at", date_from, date_to)
    )
    if channel:
        invitations = invitations.filter(channel=channel)
    if touchpoint_id is not None:
        about = Q(interaction__touchpoint_id=touchpoint_id)
        if survey.touchpoint_id == touchpoint_id:  # invitations about no interaction
            about |= Q(interaction__isnull=True)
        invitations = invitations.filter(about)
    invited = invitations.count()

    # 2. Responses counted by touchpoint, channel and month, with their CSAT answer if the
    # survey asks one (at most one per response): every total and breakdown rolls up from these.
    in_period, complete_in_period = response_conditions("", **filters)
    responses = Response.objects.filter(survey=survey).filter(in_period)
    done = Q(status=COMPLETE)
    counted = {
        "responses": Count("*"),
        "complete": Count("id", filter=done),
        "invited_responses": Count("id", filter=Q(invitation_id__isnull=False)),
        "invited_complete": Count("id", filter=done & Q(invitation_id__isnull=False)),
        **{
            f"{category}s": Count("id", filter=done & Q(nps_category=category))
            for category in NPS_CATEGORIES
        },
    }
    if csat_question is not None:
        responses = responses.annotate(
            csat_answer=FilteredRelation(
                "answers", condition=Q(answers__question_id=csat_question.pk)
            )
        )
        counted["csat_n"] = Count("id", filter=done & Q(csat_answer__number__isnull=False))
        counted["csat_top"] = Count("id", filter=done & Q(csat_answer__number__gte=CSAT_TOP_BOX))
    cells: dict[tuple, dict] = {}
    for row in (
        responses.values("touchpoint_id", "channel", month=TruncMonth("completed_at"))
        .annotate(**counted)
        .order_by()
    ):
        key = (row["touchpoint_id"], row["channel"], _month(row["month"]))
        cell = cells.setdefault(key, defaultdict(int))
        for name in counted:
            cell[name] += row[name]
    total: dict[str, int] = defaultdict(int)
    for cell in cells.values():
        for name, value in cell.items():
            total[name] += value

    # 3. The median time to complete.
    complete = Response.objects.filter(survey=survey).filter(complete_in_period)
    median_seconds = _median_seconds(complete, total["complete"])

    # 4. Every question's answers counted by value.
    _any, answer_complete = response_conditions("response__", **filters)
    if any(value not in (None, "") for value in filters.values()):
        counts = _answer_counts(questions, condition=answer_complete)
    else:
        # Unfiltered: count every answer without joining its response, then take off the
        # answers of partial responses (found through their responses), if there are any.
        partial = Q(response__survey=survey, response__status=Response.Status.PARTIAL)
        any_partial = total["responses"] > total["complete"]
        counts = _answer_counts(questions, minus=partial if any_partial else None)
    question_results = [_question_result(q, counts.get(q.pk, {})) for q in questions]

    # 5. Touchpoint names, for the touchpoints that have answers.
    touchpoint_ids = {key[0] for key in cells if key[0] is not None}
    touchpoints = {t.pk: t for t in Touchpoint.objects.filter(pk__in=touchpoint_ids)}
    channel_labels = dict(AnswerChannel.choices)

    def touchpoint_label(pk):
        if pk is None:
            return _("No touchpoint")
        return touchpoints[pk].name if pk in touchpoints else str(pk)

    def month_label(month):
        return formats.date_format(month, "YEAR_MONTH_FORMAT") if month else ""

    with_csat = csat_question is not None
    by_touchpoint = sorted(
        _breakdown(cells, 0, touchpoint_label, csat=with_csat), key=lambda r: str(r["label"])
    )
    for row in by_touchpoint:
        row["code"] = touchpoints[row["key"]].code if row["key"] in touchpoints else None
    by_channel = sorted(
        _breakdown(cells, 1, lambda c: str(channel_labels.get(c, c)), csat=with_csat),
        key=lambda r: -r["n"],
    )
    by_month = sorted(
        (r for r in _breakdown(cells, 2, month_label, csat=with_csat) if r["key"] is not None),
        key=lambda r: r["key"],
    )

    by_key = {q.key: r for q, r in zip(questions, question_results, strict=True)}
    nps_question = next((q for q in questions if q.type == QuestionType.NPS), None)
    ces_question = next((q for q in questions if q.type == QuestionType.CES), None)
    answered = total["invited_responses"]
    return {
        "survey_id": survey.pk,
        "filters": filters,
        "invitations": invited,
        "invitations_answered": answered,
        "invitations_completed": total["invited_complete"],
        "responses": total["responses"],
        "complete": total["complete"],
        "partial": total["responses"] - total["complete"],
        "response_rate": answered / invited if invited else None,
        "completion_rate": total["complete"] / total["responses"] if total["responses"] else None,
        "median_seconds_to_complete": median_seconds,
        "nps": nps_interval(total["promoters"], total["passives"], total["detractors"])
        if nps_question is not None
        else None,
        "csat": by_key[csat_question.key]["top2box"] if csat_question is not None else None,
        "ces": by_key[ces_question.key]["mean"] if ces_question is not None else None,
        "questions": question_results,
        "by_touchpoint": by_touchpoint,
        "by_channel": by_channel,
        "by_month": by_month,
    }


# --- comments ----------------------------------------------------------------------------------


def survey_comments(
    survey: Survey,
    *,
    question_key=None,
    nps_category=None,
    touchpoint_id=None,
    channel=None,
    search: str = "",
    date_from=None,
    date_to=None,
    sentiment=None,
    topic=None,
) -> QuerySet[Answer]:
    """Free-text answers of complete responses, newest first, with what a list shows.

    Each comes with its reading by the text area, `answer.analysis` (None until read):
    sentiment, score and `topic_codes` (`cxcore.text.queries.analysis_display` names them).
    `sentiment` and `topic` (a topic's code, its sub-topics included) keep the comments read so.
    """
    # The questions by id (prefetched with the survey): the planner then knows how many
    # answers they hold and walks the newest responses first instead of sorting them all.
    question_ids = [
        q.pk
        for q in survey.questions.all()
        if q.type == QuestionType.TEXT and (not question_key or q.key == question_key)
    ]
    qs = (
        Answer.objects.filter(question_id__in=question_ids)
        .exclude(text="")
        .filter(
            response_conditions(
                "response__",
                touchpoint_id=touchpoint_id,
                channel=channel,
                date_from=date_from,
                date_to=date_to,
            )[1]
        )
        .select_related(
            "question", "response", "response__customer", "response__touchpoint", "analysis"
        )
        .order_by("-response__completed_at", "-id")
    )
    if nps_category:
        qs = qs.filter(response__nps_category=nps_category)
    search = (search or "").strip()
    if search:
        qs = qs.filter(text__icontains=search)
    if sentiment or topic:
        from cxcore.text.queries import answers_filter

        qs = answers_filter(qs, sentiment=sentiment, topic=topic)
    return qs


# --- invitations, responses one by one, the customer's timeline --------------------------------


def _survey_url(token: str) -> str:
    from django.conf import settings
    from django.urls import reverse

    return settings.SITE_URL.rstrip("/") + reverse("portal:survey", args=[token])


def invitation_url(invitation) -> str:
    return _survey_url(invitation.token)


def invitation_placeholders(decision_ids: list[int]) -> dict[int, dict[str, str]]:
    """The survey link and code each sent invitation fills in its message ("{survey_link}")."""
    from cxcore.feedback.services import short_code_display

    return {
        decision_id: {
            "survey_link": _survey_url(token),
            "survey_code": short_code_display(code),
        }
        for decision_id, token, code in Invitation.objects.filter(
            decision_id__in=decision_ids
        ).values_list("decision_id", "token", "short_code")
    }


def response_get(pk: int) -> Response:
    return Response.objects.select_related("touchpoint").get(pk=pk)


def responses_page(survey: Survey, *, status: str | None, before_id: int | None, size: int):
    """Newest first, paged by id; answers and touchpoints come in two extra queries."""
    qs = Response.objects.filter(survey=survey)
    if status:
        qs = qs.filter(status=status)
    if before_id:
        qs = qs.filter(pk__lt=before_id)
    return (
        qs.select_related("touchpoint").prefetch_related("answers__question").order_by("-pk")[:size]
    )


def answers_by_key(response: Response) -> dict:
    """A response's answers as {question key: value}, the shape `response_submit` takes."""
    out = {}
    for answer in response.answers.all():
        question = answer.question
        if question.type == QuestionType.TEXT:
            out[question.key] = answer.text
        elif question.type == QuestionType.MULTIPLE:
            out[question.key] = answer.choices
        elif question.type == QuestionType.SINGLE:
            out[question.key] = answer.choices[0] if answer.choices else None
        elif question.type == QuestionType.YES_NO:
            out[question.key] = answer.flag
        else:
            out[question.key] = answer.number
    return out


def customer_responses_timeline(customer, limit: int, before=None, filters=None) -> list:
    """A customer's survey answers as timeline events, newest first (partial ones included).

    `filters` (the timeline's: a sentiment, a topic) keep the responses whose comments match.
    """
    from django.db.models.functions import Coalesce

    from cxcore.customers.queries import TimelineEvent, timeline_narrow

    qs = (
        Response.objects.filter(customer=customer)
        .annotate(at=Coalesce("completed_at", "started_at"))
        .select_related("survey", "touchpoint")
        .prefetch_related("answers__question")
        .order_by("-at", "-pk")
    )
    if before is not None:
        qs = qs.filter(at__lt=before)
    if filters:
        qs = timeline_narrow(qs, filters)
    return [
        TimelineEvent(
            response.at,
            "response",
            response,
            template="feedback/timeline_response.html",
            data={
                "response_id": response.pk,
                "survey": response.survey_id,
                "status": response.status,
                "channel": response.channel,
                "nps": response.nps,
                "nps_category": response.nps_category,
                "interaction_id": response.interaction_id,
            },
        )
        for response in qs[:limit]
    ]
