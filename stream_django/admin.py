"""
The package in Django's admin: the failure ledger (with "replay selected"),
the fan-out backlog (with "requeue selected"), and two views that read
through the feeds API, so they work whatever the backend: follows of a feed,
and the feed inspector (docs/operations.md).

Everything is read-only except the two actions. Seeing the ledger and the
views takes the ``view_failedoperation`` permission; replaying takes
``change_failedoperation``; the backlog takes ``view_fanoutchunk`` and, to
requeue, ``change_fanoutchunk``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from stream_django import fanout, maintenance
from stream_django.client import stream_client
from stream_django.engine.feeds import parse_feed_id
from stream_django.exceptions import BackendUnavailable, FeedConfigException, InputException, MaintenanceUnsupported
from stream_django.models import FailedOperation, FanoutChunk

#: Errors a view shows on the page instead of raising.
SHOWN = (InputException, FeedConfigException, MaintenanceUnsupported, BackendUnavailable)
#: Activities (or groups) the inspector shows of a feed; follows per direction.
PAGE = 25
FOLLOWS = 100


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FailedOperation)
class FailedOperationAdmin(ReadOnly):
    list_display = ("id", "created_at", "operation", "model", "object_pk", "feed", "attempts", "short_error")
    list_filter = ("model", "operation")
    search_fields = ("feed", "object_pk")
    actions = ("replay_selected",)
    change_list_template = "admin/stream_django/failedoperation/change_list.html"

    @admin.display(description=_("last error"))
    def short_error(self, obj: FailedOperation) -> str:
        return obj.error if len(obj.error) <= 80 else obj.error[:79] + "…"

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("stream_django.change_failedoperation"))

    @admin.action(description=_("Replay selected operations"), permissions=["replay"])
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[FailedOperation]) -> None:
        report = maintenance.replay_failures(queryset.order_by("id"))
        if report.replayed:
            count = len(report.replayed)
            self.message_user(
                request, ngettext("Replayed %d operation.", "Replayed %d operations.", count) % count, messages.SUCCESS
            )
        for op, error in report.failed:
            self.message_user(
                request, _("Operation %(id)s failed again: %(error)s") % {"id": op.id, "error": error}, messages.ERROR
            )

    # -- views that read through the feeds API ---------------------------------

    def get_urls(self) -> list[URLPattern]:
        views = [
            path("inspector/", self.admin_site.admin_view(self.inspector_view), name="stream_django_inspector"),
            path("follows/", self.admin_site.admin_view(self.follows_view), name="stream_django_follows"),
        ]
        return views + super().get_urls()

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta}

    def inspector_view(self, request: HttpRequest) -> HttpResponse:
        """A feed's page as the engine returns it; where an activity is, and
        why a feed does not hold it."""
        context = self._context(request, str(_("Feed inspector")))
        feed_text = request.GET.get("feed", "").strip()
        reference = request.GET.get("activity", "").strip()
        context.update(feed=feed_text, activity=reference)
        try:
            if feed_text:
                feed = parse_feed_id(feed_text, what="feed")
                slug, user_id = feed.split(":", 1)
                page = stream_client.feed(slug, user_id).get(limit=PAGE)
                context["page"] = page
                context["grouped"] = bool(page["results"]) and "activities" in page["results"][0]
                context["follows_url"] = reverse("admin:stream_django_follows") + f"?feed={feed}"
            if reference:
                located = maintenance.locate_activity(reference)
                context["located"] = [
                    {
                        "item": item,
                        "reasons": maintenance.explain_absence(feed_text, item) if feed_text else [],
                    }
                    for item in located
                ]
                context["searched"] = True
        except SHOWN as e:
            context["error"] = str(e)
        return TemplateResponse(request, "admin/stream_django/inspector.html", context)

    def follows_view(self, request: HttpRequest) -> HttpResponse:
        """The feeds a feed follows and the feeds that follow it."""
        context = self._context(request, str(_("Follows")))
        feed_text = request.GET.get("feed", "").strip()
        context["feed"] = feed_text
        if feed_text:
            try:
                slug, user_id = parse_feed_id(feed_text, what="feed").split(":", 1)
                feed = stream_client.feed(slug, user_id)
                context["followers"] = feed.followers(limit=FOLLOWS)["results"]
                context["following"] = feed.following(limit=FOLLOWS)["results"]
            except SHOWN as e:
                context["error"] = str(e)
        return TemplateResponse(request, "admin/stream_django/follows.html", context)


@admin.register(FanoutChunk)
class FanoutChunkAdmin(ReadOnly):
    list_display = ("id", "state", "age", "bulk", "attempts", "error")
    list_filter = ("bulk",)
    actions = ("requeue_selected",)

    @admin.display(description=_("state"))
    def state(self, obj: FanoutChunk) -> str:
        return fanout.state_of(obj)

    @admin.display(description=_("age"))
    def age(self, obj: FanoutChunk) -> str:
        seconds = int((timezone.now() - obj.created_at).total_seconds())
        return f"{seconds // 3600}h {seconds % 3600 // 60}m {seconds % 60}s"

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("stream_django.change_fanoutchunk"))

    @admin.action(description=_("Requeue selected chunks"), permissions=["requeue"])
    def requeue_selected(self, request: HttpRequest, queryset: QuerySet[FanoutChunk]) -> None:
        requeued = fanout.requeue_chunks(list(queryset.values_list("id", flat=True)))
        count = len(requeued)
        self.message_user(
            request,
            ngettext(
                "Requeued %d chunk (running ones are left alone).",
                "Requeued %d chunks (running ones are left alone).",
                count,
            )
            % count,
            messages.SUCCESS,
        )
