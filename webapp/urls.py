from django.contrib import admin
from django.urls import path

from webapp.views import api, ops

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", ops.health, name="health"),
    path("api/studies/<slug:slug>/items/<str:token>", api.item_truth, name="api-item-truth"),
]
