"""A Twilio Conversations receiver as a Django view, on twilio's ``RequestValidator`` over
``request.build_absolute_uri()`` and ``request.POST``; it dedupes on
``I-Twilio-Idempotency-Token`` and serves an effects probe. A one-file Django project:
``create_app()`` configures settings and returns ``get_wsgi_application()``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import RequestValidator

from team_receivers import _Dedupe

_state: dict[str, Any] = {}


@csrf_exempt
def twilio_webhook(request: HttpRequest) -> HttpResponse:
    validator: RequestValidator = _state["validator"]
    signature = request.headers.get("X-Twilio-Signature", "")
    params = request.POST if request.method == "POST" else request.GET
    if not validator.validate(request.build_absolute_uri(), params, signature):
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    token = request.headers.get("I-Twilio-Idempotency-Token", "")
    _state["dedupe"].once(token, "ok")
    return HttpResponse("OK", content_type="text/plain")


def effects(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"count": _state["dedupe"].count(request.GET.get("key", ""))})


urlpatterns = [
    path("twilio/conversations", twilio_webhook),
    path("twilio/conversations/effects", effects),
]


def create_app() -> Any:
    if not settings.configured:
        settings.configure(DEBUG=False, SECRET_KEY="not-a-secret-test-key",
                           ALLOWED_HOSTS=["localhost"], ROOT_URLCONF=__name__,
                           MIDDLEWARE=[], INSTALLED_APPS=[], USE_TZ=True)
        django.setup()
    _state["validator"] = RequestValidator(os.environ["HOOKPROOF_TEST_SECRET"])
    db = Path(tempfile.mkdtemp(prefix="django-conversations-")) / "dedupe.sqlite"
    _state["dedupe"] = _Dedupe(db)
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()
