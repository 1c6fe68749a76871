"""
Pages and actions of the example site.

Pages read feeds through ``feed_manager`` and render every activity with
``{% render_activity %}``; actions only save or delete models, and model
tracking updates the feeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from example_project.social.feeds import read_feed
from example_project.social.forms import PostForm
from example_project.social.models import Follow, Like, Post
from stream_django.exceptions import InputException
from stream_django.feed_manager import feed_manager

User = get_user_model()

FAVICON = Path(__file__).resolve().parent / "static" / "social" / "favicon.ico"


def demo_mode() -> bool:
    """Whether password-free sign-in is on (the ``DEMO_MODE`` setting)."""
    return bool(getattr(settings, "DEMO_MODE", False))


def _next_url(request: HttpRequest, default: str = "timeline") -> str:
    """Return the safe ``next`` URL of the request, else ``default``'s URL."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


def _bad_cursor(error: InputException) -> HttpResponse:
    return HttpResponseBadRequest(f"Bad page cursor: {error.detail}", content_type="text/plain")


def _users_with_counts() -> Any:
    return (
        User.objects.filter(is_active=True)
        .annotate(post_count=Count("posts", distinct=True), follower_count=Count("followers", distinct=True))
        .order_by("username")
    )


# -- signing in -----------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    """Send signed-in users to their timeline, others to sign in."""
    return redirect("timeline" if request.user.is_authenticated else "sign-in")


def sign_in(request: HttpRequest) -> HttpResponse:
    """Sign-in page: pick a user in demo mode, else a password form."""
    if demo_mode():
        if request.method == "POST":
            return HttpResponse(status=405)
        return render(
            request,
            "social/sign_in.html",
            {
                "users": _users_with_counts(),
                "next": request.GET.get("next", ""),
            },
        )
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return HttpResponseRedirect(_next_url(request))
    return render(request, "social/sign_in.html", {"form": form, "next": request.GET.get("next", "")})


@require_POST
def sign_in_as(request: HttpRequest, user_id: int) -> HttpResponse:
    """Demo mode only: sign in as ``user_id`` without a password."""
    if not demo_mode():
        raise Http404("Demo sign-in is off (DEMO_MODE).")
    user = get_object_or_404(User, pk=user_id, is_active=True)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect(_next_url(request))


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign out and return to the sign-in page."""
    logout(request)
    return redirect("sign-in")


# -- feeds ----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def timeline(request: HttpRequest) -> HttpResponse:
    """The flat timeline, with the form to post (posted back here)."""
    form = PostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.user = request.user
        form.save()
        messages.success(request, "Posted.")
        return redirect("timeline")
    feed = feed_manager.get_news_feeds(request.user.id)["timeline"]
    try:
        page = read_feed(feed, request.user, id_lt=request.GET.get("id_lt"))
    except InputException as e:
        return _bad_cursor(e)
    return render(
        request,
        "social/timeline.html",
        {
            "page": page,
            "form": form,
            "tab": "timeline",
        },
    )


@login_required
@require_GET
def timeline_newer(request: HttpRequest) -> HttpResponse:
    """The timeline's activities newer than ``id_gt`` (all of the first page
    without it), rendered as on the timeline: the fragment that
    ``live.js`` puts on top of the open page when the timeline's event
    stream says it changed. Empty (204) when nothing is newer."""
    params = {"id_gt": request.GET["id_gt"]} if request.GET.get("id_gt") else {}
    feed = feed_manager.get_news_feeds(request.user.id)["timeline"]
    try:
        page = read_feed(feed, request.user, **params)
    except InputException as e:
        return _bad_cursor(e)
    if not page.activities:
        return HttpResponse(status=204)
    response = render(request, "social/parts/feed_items.html", {"page": page})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def timeline_aggregated(request: HttpRequest) -> HttpResponse:
    """The aggregated timeline: groups such as "Ann and 3 others liked..."."""
    feed = feed_manager.get_news_feeds(request.user.id)["timeline_aggregated"]
    try:
        page = read_feed(feed, request.user, aggregated=True, id_lt=request.GET.get("id_lt"))
    except InputException as e:
        return _bad_cursor(e)
    return render(request, "social/timeline_aggregated.html", {"page": page, "tab": "aggregated"})


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """The notification feed; opening it marks every group seen."""
    feed = feed_manager.get_notification_feed(request.user.id)
    try:
        page = read_feed(feed, request.user, aggregated=True, id_lt=request.GET.get("id_lt"), mark_seen=True)
    except InputException as e:
        return _bad_cursor(e)
    # The response describes the groups as they were before this read, so
    # new groups are still flagged; the navigation badge counts what the
    # page shows ("N new, M unread"), and the next page counts them seen.
    request.notification_counts = {"unseen": page.unseen, "unread": page.unread}  # type: ignore[attr-defined]
    return render(request, "social/notifications.html", {"page": page, "tab": "notifications"})


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark the posted notification groups (``group``), or all, as read."""
    feed = feed_manager.get_notification_feed(request.user.id)
    if request.POST.get("all"):
        mark_read: Any = True
    else:
        mark_read = request.POST.getlist("group")
        if not mark_read:
            return HttpResponseBadRequest("Name the notification groups to mark read.", content_type="text/plain")
    try:
        feed.get(limit=0, mark_read=mark_read)
    except InputException as e:
        return HttpResponseBadRequest(f"Bad notification group: {e.detail}", content_type="text/plain")
    return HttpResponseRedirect(_next_url(request, "notifications"))


@login_required
@require_GET
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """A user's own feed, with their counts and a follow button."""
    owner = get_object_or_404(User, username=username, is_active=True)
    feed = feed_manager.get_user_feed(owner.id)
    try:
        page = read_feed(feed, request.user, id_lt=request.GET.get("id_lt"))
    except InputException as e:
        return _bad_cursor(e)
    return render(
        request,
        "social/profile.html",
        {
            "owner": owner,
            "page": page,
            "tab": "profile" if owner == request.user else "",
            "is_following": Follow.objects.filter(user=request.user, target=owner).exists(),
            "post_count": owner.posts.count(),
            "follower_count": owner.followers.count(),
            "following_count": owner.following.count(),
        },
    )


@login_required
@require_GET
def people(request: HttpRequest) -> HttpResponse:
    """Everyone, with follow / unfollow buttons."""
    users = (
        _users_with_counts()
        .exclude(pk=request.user.pk)
        .annotate(is_followed=Exists(Follow.objects.filter(user=request.user, target=OuterRef("pk"))))
    )
    return render(request, "social/people.html", {"users": users, "tab": "people"})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for whatever the page links."""
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# -- actions --------------------------------------------------------------


@login_required
@require_POST
def post_delete(request: HttpRequest, post_id: int) -> HttpResponse:
    """Delete one of the user's posts (and so its activity, everywhere)."""
    post = get_object_or_404(Post, pk=post_id, user=request.user)
    post.delete()
    messages.success(request, "Post deleted.")
    return HttpResponseRedirect(_next_url(request))


@login_required
@require_POST
def like(request: HttpRequest, post_id: int) -> HttpResponse:
    """Like someone else's post (once); notifies its author."""
    post = get_object_or_404(Post, pk=post_id)
    if post.user_id == request.user.pk:
        return HttpResponseBadRequest("You cannot like your own post.", content_type="text/plain")
    try:
        with transaction.atomic():
            Like.objects.get_or_create(user=request.user, post=post)
    except IntegrityError:  # a concurrent request liked it first
        pass
    return HttpResponseRedirect(_next_url(request))


@login_required
@require_POST
def unlike(request: HttpRequest, post_id: int) -> HttpResponse:
    """Withdraw a like; its activity and notification go too."""
    for existing in Like.objects.filter(user=request.user, post_id=post_id):
        existing.delete()
    return HttpResponseRedirect(_next_url(request))


@login_required
@require_POST
def follow(request: HttpRequest, username: str) -> HttpResponse:
    """Follow a user: their activities join the timelines."""
    target = get_object_or_404(User, username=username, is_active=True)
    if target == request.user:
        return HttpResponseBadRequest("You cannot follow yourself.", content_type="text/plain")
    try:
        with transaction.atomic():
            _, created = Follow.objects.get_or_create(user=request.user, target=target)
    except IntegrityError:
        created = False
    if created:
        messages.success(request, f"You follow {target.get_full_name() or target.username} now.")
    return HttpResponseRedirect(_next_url(request))


@login_required
@require_POST
def unfollow(request: HttpRequest, username: str) -> HttpResponse:
    """Stop following a user: their activities leave the timelines."""
    target = get_object_or_404(User, username=username)
    for existing in Follow.objects.filter(user=request.user, target=target):
        existing.delete()
    return HttpResponseRedirect(_next_url(request))
