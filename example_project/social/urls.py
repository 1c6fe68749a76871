from django.urls import path

from example_project.social import views

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-in/as/<int:user_id>/", views.sign_in_as, name="sign-in-as"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("timeline/", views.timeline, name="timeline"),
    path("timeline/newer/", views.timeline_newer, name="timeline-newer"),
    path("timeline/aggregated/", views.timeline_aggregated, name="timeline-aggregated"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("people/", views.people, name="people"),
    path("posts/<int:post_id>/delete/", views.post_delete, name="post-delete"),
    path("posts/<int:post_id>/like/", views.like, name="like"),
    path("posts/<int:post_id>/unlike/", views.unlike, name="unlike"),
    path("users/<str:username>/", views.profile, name="profile"),
    path("users/<str:username>/follow/", views.follow, name="follow"),
    path("users/<str:username>/unfollow/", views.unfollow, name="unfollow"),
]
