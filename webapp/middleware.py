"""A dashboard page for "not found", also under DEBUG (the demo settings), where Django
would otherwise show its technical 404 page with the URL patterns."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


class DashboardNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, Http404) and request.path.startswith("/dashboard/"):
            return render(request, "dashboard/404.html", status=404)
        return None
