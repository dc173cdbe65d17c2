"""Console pages of the text area: the topic taxonomy, topics discovered in unmatched comments,
and the sentiment model adapted to the company's words."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxcore.console.access import is_htmx, role_required
from cxcore.lib.actor import Actor
from cxcore.text import adaptation, engine, queries, services
from cxcore.text.discovery import discover
from cxcore.text.forms import TERM_LIST_FIELDS, DiscoveryForm, TopicForm
from cxcore.text.models import Topic

# Comments can carry names, addresses and complaints: discovery shows examples only to those
# who may read comments one by one (the surveys' comments page) and interactions' notes.
READ_COMMENTS = ("feedback.view_response", "interactions.view_interaction")
# Fewer unmatched comments than this make no group worth a topic.
DISCOVERY_MIN_TEXTS = 20
EXAMPLES_SHOWN = 3


def _topic_for(request, code: str) -> Topic:
    """The topic, for someone who may read the taxonomy; 404 otherwise."""
    if not request.user.has_perm("text.view_topic"):
        raise Http404
    try:
        return queries.topic_get(code)
    except Topic.DoesNotExist:
        raise Http404 from None


def _reading_language() -> str:
    """The page's language, which discovery reads comments in unless told otherwise."""
    language = (get_language() or "").split("-")[0]
    return language if language in ("fr", "en") else "fr"


# --- the taxonomy -------------------------------------------------------------------------------


@role_required("text.view_topic")
def topic_list(request):
    return render(request, "text/topics.html", {"tree": queries.topics_tree_for_console()})


@role_required("text.add_topic")
def topic_new(request):
    parents = queries.topic_parent_choices()
    if request.method == "POST":
        form = TopicForm(request.POST, parents=parents)
    else:
        form = TopicForm(parents=parents, initial=_prefill(request.GET))
    return _topic_form(request, form, topic=None)


def _prefill(query) -> dict:
    """A new topic's fields given in the address: a parent, terms from discovery."""
    initial = {}
    if query.get("parent"):
        initial["parent"] = query["parent"]
    for name in TERM_LIST_FIELDS:
        terms = [term.strip() for term in query.getlist(name) if term.strip()]
        if terms:
            initial[name] = "\n".join(terms)
    return initial


@role_required("text.change_topic")
def topic_edit(request, code):
    topic = _topic_for(request, code)
    parents = queries.topic_parent_choices(excluding=topic.code)
    form = TopicForm.for_topic(
        topic, parents=parents, data=request.POST if request.method == "POST" else None
    )
    return _topic_form(request, form, topic=topic)


def _topic_form(request, form: TopicForm, *, topic: Topic | None):
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        try:
            if topic is None:
                saved = services.topic_create(actor=actor, data=form.topic_data())
            else:
                saved = services.topic_update(actor=actor, topic=topic, data=form.topic_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                _(
                    "Topic “%(name)s” saved. Past comments and notes are being read again in "
                    "the background; counts change as they are."
                )
                % {"name": saved.name},
            )
            url = reverse("text:topics") + f"#topic-{saved.code}"
            if is_htmx(request):
                response = HttpResponse()
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    template, status = "text/topic_form.html", 400 if form.is_bound else 200
    if is_htmx(request):
        # htmx 2 swaps no 4xx response: the redrawn form with its errors comes as a 200.
        template, status = template + "#topic-form", 200
    errors = sum(len(problems) for problems in form.errors.values()) if form.is_bound else 0
    return render(
        request, template, {"form": form, "topic": topic, "error_count": errors}, status=status
    )


@role_required("text.delete_topic")
def topic_delete(request, code):
    topic = _topic_for(request, code)
    if request.method == "POST":
        deleted = services.topic_delete(actor=Actor.from_request(request), topic=topic)
        under = deleted - 1
        if under:
            done = ngettext(
                "Topic “%(name)s” and its sub-topic deleted.",
                "Topic “%(name)s” and its %(under)d sub-topics deleted.",
                under,
            ) % {"name": topic.name, "under": under}
        else:
            done = _("Topic “%(name)s” deleted.") % {"name": topic.name}
        messages.success(
            request,
            done + " " + _("Past comments and notes are being read again in the background."),
        )
        return redirect("text:topics")
    subtree = queries.topic_subtree(topic.code)
    if subtree is None:  # deleted meanwhile
        raise Http404
    return render(request, "text/topic_delete.html", {"topic": topic, **subtree})


# --- topics discovered in comments that match none ----------------------------------------------


@role_required("text.view_topic")
def topic_discovery(request):
    form = DiscoveryForm(request.GET or None, initial={"language": _reading_language()})
    if form.is_bound and not form.is_valid():
        return render(request, "text/discovery.html", {"form": form}, status=400)
    language = form.cleaned_data["language"] if form.is_bound else _reading_language()
    texts = queries.unmatched_texts(language=language)
    found = discover(texts, language=language) if len(texts) >= DISCOVERY_MIN_TEXTS else []
    show_examples = request.user.has_perms(READ_COMMENTS)
    suggestions = [
        {
            "keywords": list(suggestion.keywords),
            "size": suggestion.size,
            # Discovery gives examples as indexes into the texts it read.
            "examples": [texts[i] for i in suggestion.examples[:EXAMPLES_SHOWN]]
            if show_examples
            else [],
            "create_url": reverse("text:topic_new")
            + "?"
            + urlencode([(f"terms_{language}", keyword) for keyword in suggestion.keywords]),
        }
        for suggestion in found
    ]
    context = {
        "form": form,
        "language": language,
        "unmatched": len(texts),
        "limit": queries.DISCOVERY_TEXTS,
        "minimum": DISCOVERY_MIN_TEXTS,
        "too_few": len(texts) < DISCOVERY_MIN_TEXTS,
        "suggestions": suggestions,
        "show_examples": show_examples,
    }
    return render(request, "text/discovery.html", context)


# --- the sentiment model ------------------------------------------------------------------------


@role_required("text.view_sentimentmodel")
def sentiment_model(request):
    # Fresh: right after an adaptation this page must tell which model reads now.
    reading = queries.model_version(queries.active_model(fresh=True))
    active = queries.sentiment_model_active()
    attempts = queries.adaptation_attempts()
    context = {
        "reading_version": reading,
        "adapted": active if active is not None and active.version == reading else None,
        "unloadable": active if active is not None and active.version != reading else None,
        "labelled": queries.labelled_comments_count(),
        "minimum": adaptation.MIN_EXAMPLES,
        "attempts": attempts,
        "latest": attempts[0] if attempts else None,
    }
    return render(request, "text/model.html", context)


def _score(value: float) -> str:
    # As the page's tables show figures (floatformat rounds halves up), so both say the same.
    return floatformat(value, 3)


@require_POST
@role_required("text.add_sentimentmodel")
def sentiment_model_adapt(request):
    try:
        result = adaptation.model_adapt(actor=Actor.from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("text:model")
    figures = {
        "before": _score(result.before["macro_f1"]),
        "after": _score(result.after["macro_f1"]),
        "points": queries.points_display(
            (result.after["macro_f1"] - result.before["macro_f1"]) * 100
        ),
    }
    if result.adopted:
        messages.success(
            request,
            _(
                "The adapted model reads held-back comments better: macro-F1 %(before)s → "
                "%(after)s (%(points)s points). It is now in use; past comments are being "
                "read again."
            )
            % figures,
        )
    else:
        messages.info(
            request,
            _(
                "The adapted model was not better (macro-F1 %(before)s → %(after)s, %(points)s "
                "points): the current model stays."
            )
            % figures,
        )
    return redirect("text:model")


@require_POST
@role_required("text.change_sentimentmodel")
def sentiment_model_restore(request):
    if queries.sentiment_model_active() is None:
        messages.info(request, _("The shipped model already reads texts."))
    else:
        adaptation.model_restore_default(actor=Actor.from_request(request))
        messages.success(
            request,
            _("Back to the shipped model (%(version)s); past comments are being read again.")
            % {"version": engine.default_model().version},
        )
    return redirect("text:model")
