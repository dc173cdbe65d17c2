"""Every write of the text area: readings of comments and notes, stored in batches, and the
topic taxonomy that people edit."""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxcore.customers.services import audit_record
from cxcore.lib.actor import SYSTEM, Actor
from cxcore.text import queries
from cxcore.text.models import TextAnalysis, TextTopic, Topic

log = logging.getLogger(__name__)

# Texts read and written per transaction: one analyse_batch call, a few set-based writes.
BATCH_SIZE = 2000
ANALYSIS_FIELDS = (
    "language",
    "sentiment",
    "score",
    "complaints",
    "flags",
    "topic_codes",
    "model",
    "taxonomy",
    "text_hash",
    "analysed_at",
)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def _chunks(ids: Sequence[int], size: int | None = None) -> Iterable[list[int]]:
    size = size or BATCH_SIZE
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


# --- readings stored with the texts -------------------------------------------------------------


def analyses_store_for_answers(answer_ids: Iterable[int]) -> dict[str, int]:
    """Read these answers' comments (free-text questions, not blank) and store the readings.

    Texts whose stored reading has the same text, model and taxonomy are left alone, so a
    replay changes nothing. Returns {"analysed", "unchanged", "removed"} counts.
    """
    from cxcore.feedback.models import Answer, QuestionType

    def texts(ids):
        return Answer.objects.filter(pk__in=ids, question__type=QuestionType.TEXT).values_list(
            "pk", "text"
        )

    return _analyses_store("answer_id", sorted(set(answer_ids)), texts)


def analyses_store_for_interactions(interaction_ids: Iterable[int]) -> dict[str, int]:
    """Read these interactions' notes (not blank) and store the readings; as for answers."""
    from cxcore.interactions.models import Interaction

    def texts(ids):
        return Interaction.objects.filter(pk__in=ids).values_list("pk", "note")

    return _analyses_store("interaction_id", sorted(set(interaction_ids)), texts)


def _analyses_store(
    field: str, ids: list[int], texts: Callable[[list[int]], Iterable[tuple[int, str]]]
) -> dict[str, int]:
    counts = {"analysed": 0, "unchanged": 0, "removed": 0}
    for chunk in _chunks(ids):
        for name, value in _batch_store(field, chunk, texts).items():
            counts[name] += value
    return counts


def _batch_store(field: str, ids: list[int], texts, *, retry: bool = True) -> dict[str, int]:
    from cxcore.text import engine

    found = {pk: text for pk, text in texts(ids) if text and text.strip()}
    stored = {
        row[field]: row
        for row in TextAnalysis.objects.filter(**{f"{field}__in": ids}).values(
            "pk", field, "text_hash", "model", "taxonomy"
        )
    }
    # A text gone or blanked (a deleted comment keeps no reading; cascades do the rest).
    gone = [row["pk"] for pk, row in stored.items() if pk not in found]
    taxonomy = queries.taxonomy(fresh=True)
    model = queries.active_model(fresh=True)
    versions = {"model": queries.model_version(model), "taxonomy": taxonomy.version}
    hashes = {pk: text_hash(text) for pk, text in found.items()}
    todo = [
        pk
        for pk in found
        if pk not in stored
        or (stored[pk]["text_hash"], stored[pk]["model"], stored[pk]["taxonomy"])
        != (hashes[pk], versions["model"], versions["taxonomy"])
    ]
    counts = {"analysed": len(todo), "unchanged": len(found) - len(todo), "removed": len(gone)}
    if not todo and not gone:
        return counts
    analyses = (
        engine.analyse_batch([found[pk] for pk in todo], matcher=taxonomy.matcher, model=model)
        if todo
        else []
    )
    try:
        with transaction.atomic():
            _batch_write(field, todo, analyses, stored, hashes, versions, taxonomy.topic_ids, gone)
    except IntegrityError:
        if not retry:
            raise
        # Another worker stored some of these meanwhile, or a text was deleted: read again.
        log.info("storing %d readings hit a concurrent write; retrying", len(todo))
        return _batch_store(field, ids, texts, retry=False)
    return counts


def _batch_write(field, todo, analyses, stored, hashes, versions, topic_ids, gone) -> None:
    now = timezone.now()
    new, changed = [], []
    for pk, analysis in zip(todo, analyses, strict=True):
        row = TextAnalysis(
            **{field: pk},
            language=analysis.language,
            sentiment=analysis.sentiment,
            score=float(analysis.score),
            complaints=list(analysis.complaints),
            flags=list(analysis.flags),
            # Topics deleted since the matcher was compiled are dropped, not stored.
            topic_codes=list(dict.fromkeys(m.code for m in analysis.topics if m.code in topic_ids)),
            model=versions["model"],
            taxonomy=versions["taxonomy"],
            text_hash=hashes[pk],
            analysed_at=now,
        )
        if pk in stored:
            row.pk = stored[pk]["pk"]
            changed.append(row)
        else:
            new.append(row)
    if gone:
        TextAnalysis.objects.filter(pk__in=gone).delete()
    if changed:
        TextAnalysis.objects.bulk_update(changed, ANALYSIS_FIELDS, batch_size=500)
        TextTopic.objects.filter(analysis_id__in=[row.pk for row in changed]).delete()
    TextAnalysis.objects.bulk_create(new, batch_size=500)
    if new and new[0].pk is None:  # backends that return no ids from a bulk insert
        ids = dict(
            TextAnalysis.objects.filter(
                **{f"{field}__in": [getattr(row, field) for row in new]}
            ).values_list(field, "pk")
        )
        for row in new:
            row.pk = ids[getattr(row, field)]
    words = {
        pk: {match.code: list(match.words) for match in analysis.topics}
        for pk, analysis in zip(todo, analyses, strict=True)
    }
    TextTopic.objects.bulk_create(
        [
            TextTopic(analysis_id=row.pk, topic_id=topic_ids[code], words=words[pk][code])
            for row in new + changed
            for pk in (getattr(row, field),)
            for code in row.topic_codes
        ],
        batch_size=1000,
    )


def analyses_refresh_batch(
    *, after_answer: int = 0, after_interaction: int = 0, size: int | None = None
) -> dict:
    """Read again the next batch of comments (then notes) whose stored reading is missing or
    came from another model or taxonomy; ids after the cursors only, so a chain of batches
    always ends. Returns the counts, the new cursors and whether all were seen.
    """
    from django.db.models import Q

    from cxcore.feedback.models import Answer, QuestionType
    from cxcore.interactions.models import Interaction

    size = size or BATCH_SIZE
    taxonomy = queries.taxonomy(fresh=True)
    model_version = queries.model_version(queries.active_model(fresh=True))
    result = {"after_answer": after_answer, "after_interaction": after_interaction, "done": False}
    if after_interaction == 0:
        stale = (
            Q(analysis__isnull=True)
            | ~Q(analysis__taxonomy=taxonomy.version)
            | ~Q(analysis__model=model_version)
        )
        ids = list(
            Answer.objects.filter(pk__gt=after_answer, question__type=QuestionType.TEXT)
            .exclude(text="")
            .filter(stale)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if ids:
            result.update(analyses_store_for_answers(ids), after_answer=ids[-1])
            return result
    stale = (
        Q(text_analysis__isnull=True)
        | ~Q(text_analysis__taxonomy=taxonomy.version)
        | ~Q(text_analysis__model=model_version)
    )
    ids = list(
        Interaction.objects.filter(pk__gt=after_interaction)
        .exclude(note="")
        .filter(stale)
        .order_by("pk")
        .values_list("pk", flat=True)[:size]
    )
    if ids:
        result.update(analyses_store_for_interactions(ids), after_interaction=ids[-1])
        return result
    result["done"] = True
    return result


def analyses_store_all(*, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Read every comment and note not read yet by the current model and taxonomy, now, in
    batches (the demo, and operators after an upgrade)."""
    totals = {"analysed": 0, "unchanged": 0, "removed": 0}
    cursors = {"after_answer": 0, "after_interaction": 0}
    seen = 0
    while True:
        result = analyses_refresh_batch(**cursors)
        for name in totals:
            totals[name] += result.get(name, 0)
        if result["done"]:
            return totals
        cursors = {name: result[name] for name in cursors}
        seen += result.get("analysed", 0) + result.get("unchanged", 0)
        if progress is not None:
            progress(seen)


# --- the taxonomy -------------------------------------------------------------------------------

CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
NAME_MAX = 120
TERM_MAX = 100
TERMS_MAX = 300  # per list
TOPIC_TEXT_FIELDS = ("name_en", "name_fr")
TOPIC_LIST_FIELDS = ("terms_en", "terms_fr", "exclusions_en", "exclusions_fr")
TOPIC_FIELDS = ("code", "parent", *TOPIC_TEXT_FIELDS, *TOPIC_LIST_FIELDS, "active", "position")


def _terms_clean(value, field: str, problems: dict) -> list[str]:
    """A list of distinct non-empty terms of at most TERM_MAX characters, spaces tidied."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        problems[field] = _("Give a list of terms.")
        return []
    if len(value) > TERMS_MAX:
        problems[field] = _("At most %d terms.") % TERMS_MAX
        return []
    terms: list[str] = []
    seen: set[str] = set()
    for n, term in enumerate(value):
        if not isinstance(term, str) or not term.strip():
            problems[f"{field}.{n}"] = _("Each term is a non-empty text.")
            continue
        term = " ".join(term.split())
        if len(term) > TERM_MAX:
            problems[f"{field}.{n}"] = _("At most %d characters.") % TERM_MAX
            continue
        if term.casefold() not in seen:
            seen.add(term.casefold())
            terms.append(term)
    return terms


def _topic_clean(data: dict, *, topic: Topic | None) -> dict:
    """The topic's fields from `data` (a new topic's, or the changes to `topic`), checked."""
    if not isinstance(data, dict):
        raise ValidationError({"__all__": _("Give the topic's fields.")})
    problems: dict[str, str] = {}
    unknown = sorted(set(data) - set(TOPIC_FIELDS))
    if unknown:
        raise ValidationError({unknown[0]: _("Unknown field.")})
    current = _topic_fields(topic) if topic is not None else {}
    merged = {**current, **data}
    fields: dict = {}

    code = merged.get("code")
    if topic is not None and "code" in data and data["code"] != topic.code:
        problems["code"] = _("A topic's code never changes: stored results and the API use it.")
    elif not isinstance(code, str) or not CODE.match(code):
        problems["code"] = _(
            "A code is 1 to 50 lower-case letters, digits, '.', '-' or '_', starting with a "
            "letter or digit."
        )
    elif topic is None and Topic.objects.filter(code=code).exists():
        problems["code"] = _("Another topic has this code.")
    fields["code"] = code

    for name in TOPIC_TEXT_FIELDS:
        value = merged.get(name)
        value = " ".join(value.split()) if isinstance(value, str) else ""
        if not value:
            problems[name] = _("Name the topic in both languages.")
        elif len(value) > NAME_MAX:
            problems[name] = _("At most %d characters.") % NAME_MAX
        fields[name] = value

    for name in TOPIC_LIST_FIELDS:
        fields[name] = _terms_clean(merged.get(name), name, problems)
    for language in ("en", "fr"):
        terms = {term.casefold() for term in fields[f"terms_{language}"]}
        both = [t for t in fields[f"exclusions_{language}"] if t.casefold() in terms]
        if both:
            problems[f"exclusions_{language}"] = _(
                "%s is both a term and an exclusion; keep it in one list."
            ) % ", ".join(both)

    active = merged.get("active", True)
    if not isinstance(active, bool):
        problems["active"] = _("Give true or false.")
    fields["active"] = active
    position = merged.get("position", 0)
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= 10_000:
        problems["position"] = _("Give a whole number from 0 to 10,000.")
    fields["position"] = position

    fields["parent"] = None
    parent_code = merged.get("parent")
    if parent_code not in (None, ""):
        parent = (
            Topic.objects.filter(code=parent_code).first() if isinstance(parent_code, str) else None
        )
        if parent is None:
            problems["parent"] = _("No topic has the code %s.") % parent_code
        elif topic is not None and _is_within(parent, topic):
            problems["parent"] = _("A topic cannot sit under itself or one of its sub-topics.")
        else:
            fields["parent"] = parent
    if problems:
        raise ValidationError(problems)
    return fields


def _is_within(candidate: Topic, topic: Topic) -> bool:
    """Whether `candidate` is `topic` or one of its descendants (walking up from candidate)."""
    parents = dict(Topic.objects.values_list("pk", "parent_id"))
    seen: set[int] = set()
    pk = candidate.pk
    while pk is not None and pk not in seen:
        if pk == topic.pk:
            return True
        seen.add(pk)
        pk = parents.get(pk)
    return False


def _topic_fields(topic: Topic) -> dict:
    return {
        "code": topic.code,
        "parent": topic.parent.code if topic.parent_id else None,
        **{name: getattr(topic, name) for name in (*TOPIC_TEXT_FIELDS, *TOPIC_LIST_FIELDS)},
        "active": topic.active,
        "position": topic.position,
    }


def taxonomy_changed() -> None:
    """Recompile the matcher here now, everywhere within CHECK_SECONDS, and read every past
    comment and note again in the background once the change commits."""
    from cxcore.text.tasks import reanalysis_plan

    queries.caches_clear()
    transaction.on_commit(queries.caches_clear)
    transaction.on_commit(reanalysis_plan)


@transaction.atomic
def topic_create(*, actor: Actor, data: dict) -> Topic:
    fields = _topic_clean(data, topic=None)
    try:
        with transaction.atomic():
            topic = Topic.objects.create(**fields)
    except IntegrityError:  # created meanwhile by someone else
        raise ValidationError({"code": _("Another topic has this code.")}) from None
    audit_record(
        actor=actor,
        action="topic_created",
        target=f"topic:{topic.code}",
        changes=_topic_fields(topic),
    )
    taxonomy_changed()
    return topic


@transaction.atomic
def topic_update(*, actor: Actor, topic: Topic, data: dict) -> Topic:
    """Change the fields given in `data`; the others are kept."""
    topic = Topic.objects.select_for_update(of=("self",)).select_related("parent").get(pk=topic.pk)
    before = _topic_fields(topic)
    fields = _topic_clean(data, topic=topic)
    for name, value in fields.items():
        setattr(topic, name, value)
    topic.save()
    after = _topic_fields(topic)
    audit_record(
        actor=actor,
        action="topic_changed",
        target=f"topic:{topic.code}",
        changes={name: after[name] for name in after if after[name] != before[name]},
    )
    taxonomy_changed()
    return topic


@transaction.atomic
def topic_delete(*, actor: Actor, topic: Topic) -> int:
    """Delete the topic with its sub-topics; texts no longer speak of them. Returns how many."""
    ids = queries.topic_subtree_ids(topic.code)
    codes = sorted(Topic.objects.filter(pk__in=ids).values_list("code", flat=True))
    Topic.objects.filter(pk__in=ids).delete()
    audit_record(
        actor=actor,
        action="topic_deleted",
        target=f"topic:{topic.code}",
        changes={"deleted": codes},
    )
    taxonomy_changed()
    return len(codes)


def topics_seed(*, topic_model=Topic, actor: Actor = SYSTEM) -> int:
    """Add the seed taxonomy's topics that are missing (by code); topics people edited stay.

    Also run by a data migration, with the migration's own model, so a fresh install starts
    with the taxonomy. Returns how many topics were added.
    """
    from cxcore.text.topics import seed_tree

    existing = dict(topic_model.objects.values_list("code", "pk"))
    added = 0

    def walk(nodes, parent_id):
        nonlocal added
        for position, node in enumerate(nodes):
            pk = existing.get(node["code"])
            if pk is None:
                pk = topic_model.objects.create(
                    code=node["code"],
                    parent_id=parent_id,
                    name_en=node["name_en"],
                    name_fr=node["name_fr"],
                    terms_en=list(node.get("terms", {}).get("en", [])),
                    terms_fr=list(node.get("terms", {}).get("fr", [])),
                    exclusions_en=list(node.get("exclusions", {}).get("en", [])),
                    exclusions_fr=list(node.get("exclusions", {}).get("fr", [])),
                    position=position,
                ).pk
                existing[node["code"]] = pk
                added += 1
            walk(node.get("children", []), pk)

    walk(seed_tree(), None)
    return added


# --- a CSV file of texts, read and written back (cxcore text analyse) ---------------------------

CSV_BATCH = 1000
CSV_COLUMNS = ("language", "sentiment", "score", "topics")


class CsvTextError(ValueError):
    """The file cannot be analysed; the message names the column or the row at fault."""


def csv_analyse(
    source: TextIO,
    target: TextIO,
    *,
    column: str = "text",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Copy a CSV file from `source` to `target` with each row's text read: language,
    sentiment, score and topic codes in added columns (replaced if the file has them).

    Cells are written formula-safe. Returns the number of rows; raises CsvTextError naming
    the missing column or the first bad row.
    """
    from cxcore.lib.csvsafe import safe_cell
    from cxcore.text import engine

    first = source.readline()
    if not first.strip():
        raise CsvTextError(_("The file is empty, or its first line does not name the columns."))
    # The separator is the one the header line uses most; none at all means one column.
    delimiter = max(",;\t|", key=first.count) if any(c in first for c in ",;\t|") else ","
    reader = csv.reader(itertools.chain([first], source), delimiter=delimiter)
    try:
        headers = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise CsvTextError(_("Line 1 cannot be read: %s.") % exc) from None
    if column not in headers:
        raise CsvTextError(
            _("The file has no column %(column)s; its columns are: %(columns)s.")
            % {"column": column, "columns": ", ".join(h for h in headers if h) or "-"}
        )
    at = headers.index(column)
    added = [name for name in CSV_COLUMNS if name not in headers]
    out_headers = headers + added
    places = {name: out_headers.index(name) for name in CSV_COLUMNS}
    writer = csv.writer(target, delimiter=delimiter)
    writer.writerow([safe_cell(h) for h in out_headers])
    matcher, model = queries.current_matcher(), queries.active_model()
    done = 0
    batch: list[list[str]] = []

    def flush():
        nonlocal done
        analyses = engine.analyse_batch([row[at] for row in batch], matcher=matcher, model=model)
        for row, analysis in zip(batch, analyses, strict=True):
            row.extend([""] * len(added))
            row[places["language"]] = analysis.language
            row[places["sentiment"]] = analysis.sentiment
            row[places["score"]] = round(float(analysis.score), 3)
            row[places["topics"]] = "; ".join(analysis.topic_codes)
            writer.writerow([safe_cell(cell) for cell in row])
        done += len(batch)
        batch.clear()
        if progress is not None:
            progress(done)

    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CsvTextError(
                _("Line %(row)d cannot be read: %(error)s.")
                % {"row": reader.line_num + 1, "error": exc}
            ) from None
        if not row or (len(row) == 1 and not row[0].strip() and len(headers) > 1):
            continue  # a blank line
        if len(row) != len(headers):
            raise CsvTextError(
                _("Line %(row)d has %(cells)d cells; the header has %(columns)d.")
                % {"row": reader.line_num, "cells": len(row), "columns": len(headers)}
            )
        batch.append(row)
        if len(batch) >= CSV_BATCH:
            flush()
    if batch:
        flush()
    return done
