"""/api/docs/ works offline: Redoc and everything it loads come from Pushport itself."""

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.views import serve
from django.test import RequestFactory
from django.urls import reverse

pytestmark = pytest.mark.django_db


def references(html: str) -> list[str]:
    """Every src, href and spec-url of a page."""
    return re.findall(r'(?:src|href|spec-url)="([^"]*)"', html)


def test_the_docs_page_references_no_other_host(client):
    response = client.get("/api/docs/")
    html = response.content.decode()

    assert response.status_code == 200
    assert references(html)
    for url in references(html):
        assert url.startswith("/") and not url.startswith("//"), url
    assert "http://" not in html and "https://" not in html


def test_the_redoc_script_the_page_loads_is_a_static_file_of_ours(client):
    html = client.get("/api/docs/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert len(scripts) == 1
    assert scripts[0].startswith(settings.STATIC_URL)
    path = scripts[0].removeprefix(settings.STATIC_URL)

    assert finders.find(path), path
    response = serve(RequestFactory().get(scripts[0]), path, insecure=True)
    assert response.status_code == 200
    assert b"Redoc" in b"".join(response.streaming_content)


def test_the_schema_the_docs_read_is_served(client):
    html = client.get("/api/docs/").content.decode()
    spec_url = re.search(r'spec-url="([^"]+)"', html).group(1)
    assert client.get(spec_url).status_code == 200


def test_the_page_shell_links_the_docs(owner_client):
    html = owner_client.get(reverse("space-list")).content.decode()
    assert f'href="{reverse("api-docs")}"' in html
