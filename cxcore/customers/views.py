"""Console pages of the nucleus: list, customer page, identities, merge, segments, audit log."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxcore.console.access import is_htmx, role_required
from cxcore.console.forms import form_errors_from
from cxcore.customers import queries, services
from cxcore.customers.forms import (
    AttributeForm,
    ContactPointForm,
    CustomerSearchForm,
    InteractionEntryForm,
    MergeForm,
    NewCustomerForm,
    ProfileForm,
    SegmentForm,
)
from cxcore.customers.models import ContactPoint, IdentityConflict, Segment
from cxcore.interactions.services import interaction_record
from cxcore.lib.actor import Actor
from cxcore.lib.csvsafe import csv_lines

PAGE_SIZE = 25


def _search(request):
    form = CustomerSearchForm(request.GET or None)
    personal = request.user.has_perm("customers.view_personal_data")
    data = form.cleaned_data if form.is_valid() else {}
    qs = queries.customers_search(
        text=data.get("q", ""),
        lifecycle_stage=data.get("lifecycle_stage", ""),
        language=data.get("language", ""),
        segment=data.get("segment"),
        allow_contact_search=personal,
    )
    return form, qs, personal


@role_required("customers.view_customer")
def customer_list(request):
    form, qs, personal = _search(request)
    page = Paginator(qs.prefetch_related("contact_points") if personal else qs, PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "personal": personal, "query": query.urlencode()}
    template = "customers/list.html#results" if is_htmx(request) else "customers/list.html"
    return render(request, template, context)


@role_required(
    "customers.view_customer", "customers.view_personal_data", "customers.export_customer"
)
def customer_export(request):
    _form, qs, _personal = _search(request)
    actor = Actor.from_request(request)
    count = qs.count()
    services.audit_record(
        actor=actor,
        action="export",
        target="customer_list",
        changes={"filters": request.GET.dict(), "rows": count},
    )

    def rows():
        yield [
            _("reference"),
            _("first name"),
            _("last name"),
            _("language"),
            _("lifecycle stage"),
            _("intensity"),
            _("emails"),
            _("phones"),
        ]
        for customer in qs.prefetch_related("contact_points").iterator(chunk_size=2000):
            points = list(customer.contact_points.all())
            yield [
                customer.reference,
                customer.first_name,
                customer.last_name,
                customer.language,
                customer.lifecycle_stage,
                customer.intensity,
                " ".join(p.value for p in points if p.kind == "email"),
                " ".join(p.value for p in points if p.kind == "phone"),
            ]

    response = StreamingHttpResponse(csv_lines(rows()), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response


@role_required("customers.view_customer")
def customer_detail(request, pk: int):
    customer = queries.customer_get_for(request.user, pk)
    before = parse_datetime(request.GET.get("before", "").replace(" ", "+"))
    if before is not None and timezone.is_naive(before):
        before = None
    filters = queries.timeline_filters_read(request.GET)
    if before is not None and is_htmx(request):
        # The next page of the timeline only; the page itself was already audited.
        context = {
            "customer": customer,
            "personal": request.user.has_perm("customers.view_personal_data"),
            "older_page": True,
            "timeline_query": urlencode(filters),
            **queries.timeline_page(customer, before=before, filters=filters),
        }
        return render(request, "customers/detail.html#timeline_events", context)
    if request.user.has_perm("customers.view_personal_data"):
        services.audit_record(
            actor=Actor.from_request(request), action="view", target="customer", customer_id=pk
        )
    return _detail_page(request, customer, before=before, filters=filters)


def _detail_page(request, customer, *, status: int = 200, before=None, filters=None, **forms):
    """The customer page; forms given here (with their errors) replace the blank ones."""
    filters = filters or {}
    context = {
        "customer": customer,
        "personal": request.user.has_perm("customers.view_personal_data"),
        "older_page": before is not None,
        "timeline_filters": queries.timeline_filter_fields(filters),
        "timeline_query": urlencode(filters),
        **queries.customer_page(customer, before=before, filters=filters),
        "profile_form": ProfileForm(
            initial={name: getattr(customer, name) for name in services.PROFILE_FIELDS}
        ),
        "contact_form": ContactPointForm(),
        "attribute_form": AttributeForm(),
        "merge_form": MergeForm(),
        "interaction_form": InteractionEntryForm(
            initial={
                "occurred_at": timezone.localtime().replace(second=0, microsecond=0, tzinfo=None)
            }
        ),
        **forms,
    }
    return render(request, "customers/detail.html", context, status=status)


def _post_to_customer(request, customer, form_class, form_name: str, write, success: str):
    """Validate a customer-page form, run its service, and come back to the page."""
    form = form_class(request.POST)
    if form.is_valid():
        try:
            write(Actor.from_request(request), form.cleaned_data)
            messages.success(request, success)
            return redirect("customers:detail", pk=customer.pk)
        except ValidationError as exc:
            form_errors_from(form, exc)
    return _detail_page(request, customer, status=422, **{form_name: form})


@require_POST
@role_required("customers.change_customer", "customers.view_personal_data")
def customer_edit(request, pk: int):
    customer = queries.customer_get_for(request.user, pk)
    return _post_to_customer(
        request,
        customer,
        ProfileForm,
        "profile_form",
        lambda actor, data: services.customer_update(actor=actor, customer=customer, **data),
        _("Profile saved."),
    )


@require_POST
@role_required("customers.change_customer", "customers.view_personal_data")
def contact_point_add(request, pk: int):
    customer = queries.customer_get_for(request.user, pk)
    return _post_to_customer(
        request,
        customer,
        ContactPointForm,
        "contact_form",
        lambda actor, data: services.contact_point_add(
            actor=actor, customer=customer, source="console", **data
        ),
        _("Contact point added."),
    )


@role_required("customers.add_customer", "customers.view_personal_data")
def customer_new(request):
    form = NewCustomerForm(
        request.POST or None, initial={"language": "fr", "time_zone": "Europe/Paris"}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = services.customer_create(
                actor=Actor.from_request(request),
                **{name: data[name] for name in services.PROFILE_FIELDS},
                contact_points=form.contact_points(),
            )
            messages.success(request, _("Customer %s created.") % customer.reference)
            return redirect("customers:detail", pk=customer.pk)
        except ValidationError as exc:
            form_errors_from(form, exc)
    status = 422 if form.errors else 200
    return render(request, "customers/new.html", {"form": form}, status=status)


@require_POST
@role_required("interactions.add_interaction", "customers.view_customer")
def interaction_add(request, pk: int):
    customer = queries.customer_get_for(request.user, pk)
    return _post_to_customer(
        request,
        customer,
        InteractionEntryForm,
        "interaction_form",
        lambda actor, data: interaction_record(
            actor=actor, customer=customer, **{**data, "touchpoint": data["touchpoint"].code}
        ),
        _("Interaction recorded."),
    )


@require_POST
@role_required("customers.change_customer", "customers.view_personal_data")
def contact_point_remove(request, pk: int, point_pk: int):
    customer = queries.customer_get_for(request.user, pk)
    point = get_object_or_404(ContactPoint, pk=point_pk, customer=customer)
    services.contact_point_remove(actor=Actor.from_request(request), point=point)
    messages.success(request, _("Contact point removed."))
    return redirect("customers:detail", pk=pk)


@require_POST
@role_required("customers.change_customer")
def attribute_add(request, pk: int):
    customer = queries.customer_get_for(request.user, pk)
    return _post_to_customer(
        request,
        customer,
        AttributeForm,
        "attribute_form",
        lambda actor, data: services.attribute_declare(actor=actor, customer=customer, **data),
        _("Attribute recorded."),
    )


@require_POST
@role_required("customers.merge_customer")
def customer_merge(request, pk: int):
    survivor = queries.customer_get_for(request.user, pk)
    form = MergeForm(request.POST)
    if form.is_valid():
        try:
            merged = queries.customer_get_for(request.user, form.cleaned_data["other"])
        except Http404:
            form.add_error("other", _("No customer has this reference."))
        else:
            try:
                services.customer_merge(
                    actor=Actor.from_request(request),
                    survivor=survivor,
                    merged=merged,
                    reason=form.cleaned_data["reason"],
                )
                messages.success(
                    request,
                    _("%(merged)s was merged into %(survivor)s.")
                    % {"merged": merged.reference, "survivor": survivor.reference},
                )
                return redirect("customers:detail", pk=pk)
            except ValidationError as exc:
                form_errors_from(form, exc)
    return _detail_page(request, survivor, status=422, merge_form=form)


@role_required("customers.view_identityconflict")
def conflict_list(request):
    page = Paginator(queries.identity_conflicts_open(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/conflicts.html",
        {"page": page, "personal": request.user.has_perm("customers.view_personal_data")},
    )


@require_POST
@role_required("customers.change_identityconflict")
def conflict_dismiss(request, pk: int):
    conflict = get_object_or_404(IdentityConflict, pk=pk)
    try:
        services.identity_conflict_dismiss(actor=Actor.from_request(request), conflict=conflict)
        messages.success(request, _("Marked as two different people."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("customers:conflicts")


@require_POST
@role_required("customers.merge_customer", "customers.change_identityconflict")
def conflict_merge(request, pk: int):
    conflict = get_object_or_404(IdentityConflict, pk=pk, status=IdentityConflict.Status.OPEN)
    try:
        services.customer_merge(
            actor=Actor.from_request(request),
            survivor=conflict.customer,
            merged=conflict.other_customer,
            reason=_("Identity review: same %(kind)s") % {"kind": conflict.get_kind_display()},
        )
        messages.success(request, _("Customers merged."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("customers:conflicts")


@role_required("customers.view_segment")
def segment_list(request):
    segments = Segment.objects.all()
    return render(request, "customers/segments.html", {"segments": segments})


@role_required("customers.view_segment")
def segment_detail(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    personal = request.user.has_perm("customers.view_personal_data")
    page = Paginator(queries.segment_members(segment), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/segment_detail.html",
        {"segment": segment, "page": page, "personal": personal},
    )


@role_required("customers.add_segment", "customers.change_segment")
def segment_edit(request, pk: int | None = None):
    segment = get_object_or_404(Segment, pk=pk) if pk else None
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                segment = services.segment_save(
                    actor=Actor.from_request(request),
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    rules=form.rules(),
                    segment=segment,
                )
                messages.success(request, _("Segment saved."))
                return redirect("customers:segment", pk=segment.pk)
            except ValidationError as exc:
                form_errors_from(form, exc)
        status = 422
    else:
        form = SegmentForm(initial=SegmentForm.initial_from(segment) if segment else None)
        status = 200
    return render(
        request, "customers/segment_form.html", {"form": form, "segment": segment}, status=status
    )


@role_required("customers.view_auditentry")
def audit_log(request):
    customer = request.GET.get("customer", "").strip().upper().lstrip("C").lstrip("0")
    entries = queries.audit_entries(
        customer_id=int(customer) if customer.isdigit() else None,
        action=request.GET.get("action", ""),
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "customers/audit.html", {"page": page})
