from django.contrib import admin
from django.urls import path

from webapp.views import ops

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", ops.health, name="health"),
]
