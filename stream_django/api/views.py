"""
The REST API's views (docs/api.md). Each goes through the feeds API.

Every view resolves the feed of its path, checks the permission policy on
it before anything is read or written, then validates its input: a bad
value is a 400 naming the field, an unknown feed group a 404.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.utils.module_loading import import_string
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from drf_spectacular.utils import extend_schema as _extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from stream_django.api.enrichment import PageEnricher
from stream_django.api.permissions import FOLLOW, MARK, READ, FeedRef
from stream_django.api.serializers import (
    CountsSerializer,
    FeedPageSerializer,
    FeedReadQuerySerializer,
    FollowListQuerySerializer,
    FollowPageSerializer,
    FollowResultSerializer,
    FollowSerializer,
    MarkSerializer,
    UnfollowQuerySerializer,
)
from stream_django.client import stream_client
from stream_django.conf import stream_settings
from stream_django.engine.feeds import get_group, validate_slug, validate_user_id
from stream_django.exceptions import (
    BackendUnavailable,
    DoesNotExistException,
    FeedConfigException,
    InputException,
    StreamApiException,
)

FEED_PATH = [
    OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The feed group, e.g. `timeline`."),
    OpenApiParameter("user_id", str, OpenApiParameter.PATH, description="The feed's user id."),
]
ERRORS = {
    400: OpenApiResponse(description='Bad input: `{"<field>": ["<reason>"]}`.'),
    401: OpenApiResponse(description="Not signed in (with authentication classes that challenge)."),
    403: OpenApiResponse(description="Not signed in, or the permission policy refuses this feed."),
    404: OpenApiResponse(description="Unknown feed group."),
    429: OpenApiResponse(description="Throttled."),
}
FOLLOW_CURSOR_SALT = "stream_django.api.follows"


def extend_schema(**kwargs: Any) -> Any:
    """drf-spectacular's ``extend_schema`` on drf-spectacular's ``AutoSchema``,
    whatever the site's ``DEFAULT_SCHEMA_CLASS``."""

    def decorator(method: Any) -> Any:
        method.schema = AutoSchema
        return _extend_schema(**kwargs)(method)

    return decorator


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The feed store cannot be reached."
    default_code = "service_unavailable"


def validated(serializer_class: type[Serializer], data: Any) -> dict[str, Any]:
    """Return ``data`` validated by ``serializer_class``, or raise the 400."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class FeedAPIView(APIView):
    """Base of the feed views: the feed of the path, the policy, the errors.

    ``feed_action`` (``"read"``, ``"follow"`` or ``"mark"``) tells the
    permission policy what the request does to the feed.
    """

    feed_action = READ
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    throttle_scope = "stream_feeds"
    schema = AutoSchema()

    def get_permissions(self) -> list[Any]:
        return [import_string(stream_settings.API_PERMISSION_CLASS)()]

    def get_throttles(self) -> list[Any]:
        classes = stream_settings.API_THROTTLE_CLASSES
        if classes is None:
            return super().get_throttles()
        return [import_string(path)() for path in classes]

    def feed_ref(self, action: str | None = None) -> FeedRef:
        """Return the feed of the path once the policy allows ``action`` on it."""
        slug = self._valid(validate_slug, self.kwargs["slug"], "slug")
        user_id = self._valid(validate_user_id, self.kwargs["user_id"], "user_id")
        ref = FeedRef(slug=slug, user_id=user_id, group=self._group(slug))
        self.check_feed(ref, action or self.feed_action)
        return ref

    def check_feed(self, ref: FeedRef, action: str) -> None:
        self.feed_action = action
        self.check_object_permissions(self.request, ref)

    def _valid(self, validate: Any, value: str, field: str) -> str:
        try:
            return validate(value)
        except InputException as e:
            raise ValidationError({field: [str(e)]}) from None

    def _group(self, slug: str) -> Any:
        try:
            return get_group(slug)
        except FeedConfigException:
            raise NotFound(f"feed group {slug!r} does not exist") from None

    def feed(self, ref: FeedRef) -> Any:
        return stream_client.feed(ref.slug, ref.user_id)

    def handle_exception(self, exc: Exception) -> Response:
        # What the feeds API raises past the views' own validation.
        if isinstance(exc, BackendUnavailable):
            exc = ServiceUnavailable(str(exc))
        elif isinstance(exc, DoesNotExistException):
            exc = NotFound(str(exc))
        elif isinstance(exc, StreamApiException) and exc.status_code == 400:
            exc = ValidationError({"detail": [str(exc)]})
        return super().handle_exception(exc)


class FeedView(FeedAPIView):
    """``GET <feed>/``: a page of the feed, enriched."""

    @extend_schema(
        operation_id="feed_read",
        parameters=[*FEED_PATH, FeedReadQuerySerializer],
        responses={200: FeedPageSerializer, **ERRORS},
        description=(
            "A page of the feed, newest first: activities on flat feeds, groups on aggregated and notification"
            " feeds (with `unseen` and `unread`). `next` is the URL of the next page (an `id_lt` cursor), or null."
        ),
    )
    def get(self, request: Request, slug: str, user_id: str) -> Response:
        ref = self.feed_ref()
        query = validated(FeedReadQuerySerializer, request.query_params)
        params: dict[str, Any] = {"limit": query["limit"]}
        for name in ("id_lt", "id_gt"):
            if name in query:
                if "." in query[name] and not ref.group.is_aggregated:
                    detail: dict[str, list[str]] = {
                        name: [f"{ref.slug!r} is a flat feed: give an activity id, not a group id"]
                    }
                    raise ValidationError(detail)
                params[name] = query[name]
        for name in ("mark_seen", "mark_read"):
            if query.get(name):
                if not ref.group.is_notification:
                    raise ValidationError(
                        {name: [f"only notification feeds have {name}; {ref.slug!r} is {ref.group.type}"]}
                    )
                params[name] = query[name]
        if "mark_seen" in params or "mark_read" in params:
            self.check_feed(ref, MARK)
        page = self.feed(ref).get(**params)
        enricher = PageEnricher(context={"request": request, "view": self})
        if ref.group.is_aggregated:
            results = enricher.groups(page["results"])
        else:
            results = enricher.activities(page["results"])
        body: dict[str, Any] = {"results": results, "next": self.next_url(request, page)}
        if ref.group.is_notification:
            body["unseen"] = page["unseen"]
            body["unread"] = page["unread"]
        return Response(body)

    def next_url(self, request: Request, page: dict[str, Any]) -> str | None:
        if not page.get("next") or not page["results"]:
            return None
        url = request.build_absolute_uri()
        for name in ("mark_seen", "mark_read"):
            url = remove_query_param(url, name)
        return replace_query_param(url, "id_lt", page["results"][-1]["id"])


class FollowsView(FeedAPIView):
    """``POST <feed>/follows/``: follow a feed from this one."""

    feed_action = FOLLOW

    @extend_schema(
        operation_id="feed_follow",
        parameters=FEED_PATH,
        request=FollowSerializer,
        responses={201: FollowResultSerializer, 200: FollowResultSerializer, **ERRORS},
        description="Follow `target` from this feed: 201, or 200 when the follow already existed.",
    )
    def post(self, request: Request, slug: str, user_id: str) -> Response:
        ref = self.feed_ref()
        data = validated(FollowSerializer, request.data)
        target = data["target"]
        target_slug, target_user_id = target.split(":")
        try:
            target_group = get_group(target_slug)
        except FeedConfigException as e:
            raise ValidationError({"target": [str(e)]}) from None
        if not target_group.is_flat:
            raise ValidationError(
                {"target": [f"only flat feeds can be followed; {target_slug!r} is {target_group.type}"]}
            )
        feed = self.feed(ref)
        existed = bool(feed.following(limit=1, feeds=[target])["results"])
        try:
            feed.follow(target_slug, target_user_id, activity_copy_limit=data.get("activity_copy_limit"))
        except (InputException, FeedConfigException) as e:
            raise ValidationError({"target": [str(e)]}) from None
        return Response(
            {"feed": ref.id, "target": target, "created": not existed},
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


class UnfollowView(FeedAPIView):
    """``DELETE <feed>/follows/<target_slug>/<target_id>/``: unfollow."""

    feed_action = FOLLOW

    @extend_schema(
        operation_id="feed_unfollow",
        parameters=[
            *FEED_PATH,
            OpenApiParameter("target_slug", str, OpenApiParameter.PATH),
            OpenApiParameter("target_id", str, OpenApiParameter.PATH),
            UnfollowQuerySerializer,
        ],
        responses={204: None, **ERRORS},
        description="Stop following the target feed; its activities leave this feed unless `keep_history=true`.",
    )
    def delete(self, request: Request, slug: str, user_id: str, target_slug: str, target_id: str) -> Response:
        ref = self.feed_ref()
        target_slug = self._valid(validate_slug, target_slug, "target_slug")
        target_id = self._valid(validate_user_id, target_id, "target_id")
        query = validated(UnfollowQuerySerializer, request.query_params)
        self.feed(ref).unfollow(target_slug, target_id, keep_history=query["keep_history"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class FollowListView(FeedAPIView):
    """``GET <feed>/followers/`` and ``GET <feed>/following/``, paged with cursors."""

    direction = "followers"

    def get(self, request: Request, slug: str, user_id: str) -> Response:
        ref = self.feed_ref()
        query = validated(FollowListQuerySerializer, request.query_params)
        offset = self.decode_cursor(ref, query.get("cursor"))
        feed = self.feed(ref)
        read = feed.followers if self.direction == "followers" else feed.following
        rows = read(offset=offset, limit=query["limit"])["results"]
        next_url = None
        if query["limit"] and len(rows) == query["limit"]:
            cursor = signing.dumps([ref.id, self.direction, offset + len(rows)], salt=FOLLOW_CURSOR_SALT)
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", cursor)
        return Response({"results": rows, "next": next_url})

    def decode_cursor(self, ref: FeedRef, cursor: str | None) -> int:
        if not cursor:
            return 0
        try:
            feed_id, direction, offset = signing.loads(cursor, salt=FOLLOW_CURSOR_SALT)
        except (signing.BadSignature, ValueError, TypeError):
            raise ValidationError({"cursor": ["not a cursor of this API (use the `next` URL of a page)"]}) from None
        if feed_id != ref.id or direction != self.direction or not isinstance(offset, int):
            raise ValidationError(
                {"cursor": [f"this cursor belongs to another list than {self.direction} of {ref.id}"]}
            )
        return offset


class FollowersView(FollowListView):
    direction = "followers"

    @extend_schema(
        operation_id="feed_followers",
        description="The feeds following this one, newest first.",
        parameters=[*FEED_PATH, FollowListQuerySerializer],
        responses={200: FollowPageSerializer, **ERRORS},
    )
    def get(self, request: Request, slug: str, user_id: str) -> Response:
        return super().get(request, slug, user_id)


class FollowingView(FollowListView):
    direction = "following"

    @extend_schema(
        operation_id="feed_following",
        description="The feeds this one follows, newest first.",
        parameters=[*FEED_PATH, FollowListQuerySerializer],
        responses={200: FollowPageSerializer, **ERRORS},
    )
    def get(self, request: Request, slug: str, user_id: str) -> Response:
        return super().get(request, slug, user_id)


class MarkView(FeedAPIView):
    """``POST <feed>/seen/`` and ``POST <feed>/read/``: mark notification groups."""

    feed_action = MARK
    mark = "mark_seen"

    def post(self, request: Request, slug: str, user_id: str) -> Response:
        ref = self.feed_ref()
        data = validated(MarkSerializer, request.data)
        if not ref.group.is_notification:
            raise ValidationError(
                {"slug": [f"only notification feeds have seen and read; {ref.slug!r} is {ref.group.type}"]}
            )
        feed = self.feed(ref)
        feed.get(limit=0, **{self.mark: True if data.get("all") else data["groups"]})
        counts = feed.get(limit=0)
        return Response({"unseen": counts["unseen"], "unread": counts["unread"]})


_MARK_SCHEMA: dict[str, Any] = {
    "parameters": FEED_PATH,
    "request": MarkSerializer,
    "responses": {200: CountsSerializer, **ERRORS},
}


class SeenView(MarkView):
    mark = "mark_seen"

    @extend_schema(
        operation_id="feed_mark_seen", description="Mark groups (or all) seen; returns the new counts.", **_MARK_SCHEMA
    )
    def post(self, request: Request, slug: str, user_id: str) -> Response:
        return super().post(request, slug, user_id)


class ReadView(MarkView):
    mark = "mark_read"

    @extend_schema(
        operation_id="feed_mark_read", description="Mark groups (or all) read; returns the new counts.", **_MARK_SCHEMA
    )
    def post(self, request: Request, slug: str, user_id: str) -> Response:
        return super().post(request, slug, user_id)
