from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from webapp.views import api, ops

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", ops.health, name="health"),
    # Login and logout only: password reset needs e-mail, which is not configured here;
    # staff reset passwords in the admin or with `manage.py changepassword`.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", include("webapp.urls_dashboard")),
    path("", include("webapp.urls_judge")),
    path("api/studies/<slug:slug>/items/<str:token>", api.item_truth, name="api-item-truth"),
]

if settings.NEWSEVAL_BENCH_BASELINE:
    from webapp.views import bench

    urlpatterns.append(path("bench/baseline", bench.baseline))
