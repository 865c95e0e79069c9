"""schemathesis against our own OpenAPI document: every operation, no 5xx, responses as documented."""

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from articles.models import IngestToken
from finews.wsgi import application
from tests.factories import make_article, make_stock

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def connections_kept_open():
    """As Django's test client does: the WSGI handler must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def secret(db, connections_kept_open):
    editor = User.objects.create_user("wangwu", last_name="王", first_name="五")
    make_article(info_code="NW1", tags=["宏观"], stocks=[make_stock("601601", name="中国太保")], authors="张三")
    make_article(info_code="NW2", responsible_editor=editor)
    return IngestToken.objects.create_token("schemathesis")[1]


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, secret):
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)
