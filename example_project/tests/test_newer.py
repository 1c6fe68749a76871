"""The timeline's live fragment: ``GET /timeline/newer/?id_gt=<id>``, what
``live.js`` puts on top of an open timeline."""

import re

from django.urls import reverse

from example_project.social.models import Follow, Post
from example_project.tests.helpers import text, verbs


def activity_ids(response):
    return re.findall(r'<div class="feed-item" data-activity-id="([^"]+)">', response.content.decode())


def test_it_renders_only_what_is_newer_than_the_page_as_the_page_does(client, ann, bob):
    Follow.objects.create(user=ann, target=bob)
    Post.objects.create(user=bob, text="Already on the page")
    client.force_login(ann)
    page = client.get(reverse("timeline"))
    shown = activity_ids(page)
    assert len(shown) == 2  # the post and Ann's follow
    assert f'data-events="/api/feeds/timeline/{ann.pk}/events/"' in page.content.decode()

    assert client.get(reverse("timeline-newer"), {"id_gt": shown[0]}).status_code == 204
    Post.objects.create(user=bob, text="Posted while the page is open")
    Post.objects.create(user=bob, text="And another")
    newer = client.get(reverse("timeline-newer"), {"id_gt": shown[0]})
    assert newer.status_code == 200
    assert newer["Cache-Control"] == "no-store"
    assert verbs(newer) == ["post", "post"]
    assert text(newer).index("And another") < text(newer).index("Posted while the page is open")
    assert 'data-action="like"' in newer.content.decode()  # the like button, as on the page
    assert not set(activity_ids(newer)) & set(shown)
    # Without id_gt (an empty timeline), the first page.
    assert len(activity_ids(client.get(reverse("timeline-newer")))) == 4


def test_it_escapes_what_people_write(client, ann, bob):
    Follow.objects.create(user=ann, target=bob)
    Post.objects.create(user=bob, text='<script>alert("x")</script><img src=x onerror=alert(1)>')
    client.force_login(ann)
    body = client.get(reverse("timeline-newer")).content.decode()
    assert "<script>" not in body and "<img" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in body


def test_it_needs_a_signed_in_user_and_a_well_formed_cursor(client, ann):
    response = client.get(reverse("timeline-newer"))
    assert response.status_code == 302 and response.url.startswith(reverse("sign-in"))
    client.force_login(ann)
    bad = client.get(reverse("timeline-newer"), {"id_gt": "not-an-id"})
    assert bad.status_code == 400
    assert b"id_gt" in bad.content


def test_an_older_page_of_the_timeline_is_not_live(client, ann, bob):
    Follow.objects.create(user=ann, target=bob)
    post = Post.objects.create(user=bob, text="x")
    client.force_login(ann)
    older = client.get(reverse("timeline"), {"id_lt": "ffffffff-ffff-1fff-bfff-ffffffffffff"})
    assert older.status_code == 200
    assert "data-events=" not in older.content.decode()
    assert post.text in text(older)
