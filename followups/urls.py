from django.urls import path

from followups import views

app_name = "callbacks"
urlpatterns = [
    path("", views.callback_queue, name="queue"),
    path("counts/", views.callback_counts, name="counts"),
    path("open-for/", views.open_for_caller, name="open_for"),
    path("promise/", views.promise_preview, name="promise"),
    path("policy/<int:pk>/", views.policy_edit, name="policy"),
    path("<int:pk>/", views.callback_detail, name="detail"),
    path("<int:pk>/claim/", views.callback_claim_view, name="claim"),
    path("<int:pk>/release/", views.callback_release_view, name="release"),
    path("<int:pk>/attempt/", views.callback_attempt_view, name="attempt"),
    path("<int:pk>/assign/", views.callback_assign_view, name="assign"),
    path("<int:pk>/cancel/", views.callback_cancel_view, name="cancel"),
]
