"""The OpenAPI document of the whole project is valid and generates without a warning."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_openapi_schema_validates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert "/apispaces/{space_id}/sessions" in (tmp_path / "schema.yml").read_text()
