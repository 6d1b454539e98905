"""The judge's URLs: one entry link per study, then clean URLs for each step."""

from django.urls import path

from webapp.views import judge

urlpatterns = [
    path("take/<slug:slug>/", judge.enter, name="judge-enter"),
    path("take/<slug:slug>/launch/<str:signed>/", judge.launch, name="judge-launch"),
    path("take/<slug:slug>/consent/", judge.consent, name="judge-consent"),
    path("take/<slug:slug>/instructions/", judge.instructions, name="judge-instructions"),
    path("take/<slug:slug>/practice/", judge.practice, name="judge-practice"),
    path(
        "take/<slug:slug>/practice/feedback/",
        judge.practice_feedback,
        name="judge-practice-feedback",
    ),
    path("take/<slug:slug>/item/", judge.item, name="judge-item"),
    path("take/<slug:slug>/signal/", judge.signal, name="judge-signal"),
    path("take/<slug:slug>/closing/", judge.closing, name="judge-closing"),
    path("take/<slug:slug>/debrief/", judge.debrief, name="judge-debrief"),
    path("take/<slug:slug>/finish/", judge.finish, name="judge-finish"),
]
