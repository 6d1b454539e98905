from django.contrib import admin
from django.urls import include, path

from webapp.views import api, ops

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", ops.health, name="health"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("dashboard/", include("webapp.urls_dashboard")),
    path("", include("webapp.urls_judge")),
    path("api/studies/<slug:slug>/items/<str:token>", api.item_truth, name="api-item-truth"),
]
