"""Demo sign-in (DEMO_MODE), password sign-in and signing out."""

from django.urls import reverse


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/").url == reverse("sign-in")
    response = client.get(reverse("timeline"))
    assert response.status_code == 302
    assert response.url == f"{reverse('sign-in')}?next={reverse('timeline')}"


def test_demo_sign_in_lists_every_user(client, ann, bob):
    response = client.get(reverse("sign-in"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="demo-users"' in body
    for user in (ann, bob):
        assert f'data-username="{user.username}"' in body
        assert reverse("sign-in-as", args=[user.pk]) in body
    assert 'type="password"' not in body


def test_demo_sign_in_as_a_user(client, ann):
    response = client.post(reverse("sign-in-as", args=[ann.pk]))
    assert response.status_code == 302
    assert response.url == reverse("timeline")
    page = client.get(reverse("timeline")).content.decode()
    assert 'id="signed-in-as"' in page
    assert "Ann Test" in page


def test_demo_sign_in_follows_a_safe_next_url_only(client, ann):
    url = reverse("sign-in-as", args=[ann.pk])
    assert client.post(url, {"next": "/people/"}).url == "/people/"
    assert client.post(url, {"next": "https://elsewhere.example/"}).url == reverse("timeline")


def test_demo_sign_in_needs_post(client, ann):
    assert client.get(reverse("sign-in-as", args=[ann.pk])).status_code == 405


def test_demo_sign_in_of_unknown_or_inactive_user_is_404(client, make_user):
    gone = make_user("Gone", is_active=False)
    assert client.post(reverse("sign-in-as", args=[gone.pk])).status_code == 404
    assert client.post(reverse("sign-in-as", args=[gone.pk + 100])).status_code == 404


def test_without_demo_mode_there_is_no_password_free_sign_in(client, settings, ann):
    settings.DEMO_MODE = False
    assert client.post(reverse("sign-in-as", args=[ann.pk])).status_code == 404
    body = client.get(reverse("sign-in")).content.decode()
    assert 'type="password"' in body
    assert 'id="demo-users"' not in body
    assert client.get(reverse("timeline")).status_code == 302


def test_without_demo_mode_users_sign_in_with_a_password(client, settings, ann):
    settings.DEMO_MODE = False
    ann.set_password("correct horse")
    ann.save()
    bad = client.post(reverse("sign-in"), {"username": "ann", "password": "wrong"})
    assert bad.status_code == 200
    assert client.get(reverse("timeline")).status_code == 302
    good = client.post(reverse("sign-in"), {"username": "ann", "password": "correct horse"})
    assert good.url == reverse("timeline")
    assert client.get(reverse("timeline")).status_code == 200


def test_sign_out(client, ann):
    client.force_login(ann)
    response = client.post(reverse("sign-out"))
    assert response.url == reverse("sign-in")
    assert client.get(reverse("timeline")).status_code == 302
