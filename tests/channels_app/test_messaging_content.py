"""Content upload (the SDK's POST /content and its /cpaas twin) and the signed URL it answers."""

import base64
import time
import types
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from portal.apikeys import create_api_key
from tests.channels_app.messaging_flows import sessions
from tests.factories import AppMessagingAuthFactory
from tests.sessions_app.flows import basic

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
PDF = b"%PDF-1.7\n" + b"x" * 64


@pytest.fixture(autouse=True)
def content_root(settings, tmp_path):
    """Content stored in a fresh folder for each test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "content": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


@pytest.fixture
def auth(space):
    return AppMessagingAuthFactory(space=space)


def upload_url(space_id) -> str:
    return f"/apispaces/{space_id}/content"


def upload_file(client, space_id, data=PNG, name="image.png", content_type="image/png"):
    """POST multipart with the single field `file`, as the SDK's createFromFile does."""
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(upload_url(space_id), {"file": upload}, format="multipart")


def upload_base64(client, space_id, data=PNG, name="image.png", content_type="image/png"):
    """POST JSON {data, name, type}, as the SDK's createFromBase64 does."""
    body = {"data": base64.b64encode(data).decode(), "name": name, "type": content_type}
    return client.post(upload_url(space_id), body, format="json")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_a_multipart_upload_answers_200_with_what_the_sdk_reads(auth, content_root):
    (alice,) = sessions(auth, "alice")
    response = upload_file(alice, auth.space_id)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "image/png" and body["size"] == len(PNG)
    assert body["name"] == "image.png" and body["folder"] == "content"
    assert body["_createdBy"] == "alice" and body["id"].endswith(".png")
    assert body["url"].startswith(f"http://testserver/apispaces/{auth.space_id}/content/")
    stored = content_root / str(auth.space_id) / body["id"]
    assert stored.read_bytes() == PNG


def test_a_base64_json_upload_is_stored_the_same_way(auth):
    (alice,) = sessions(auth, "alice")
    response = upload_base64(alice, auth.space_id, data=PDF, name="a.pdf", content_type="x/y")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "application/pdf" and body["size"] == len(PDF)
    assert APIClient().get(path_of(body["url"])).getvalue() == PDF


def test_a_data_url_in_the_json_body_is_read_for_its_data(auth):
    (alice,) = sessions(auth, "alice")
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    response = alice.post(upload_url(auth.space_id), {"data": data}, format="json")
    assert response.status_code == 200
    assert response.json()["type"] == "image/png"


def test_the_type_comes_from_the_bytes_not_from_the_client(auth):
    (alice,) = sessions(auth, "alice")
    response = upload_file(alice, auth.space_id, name="page.html", content_type="text/html")
    assert response.json()["type"] == "image/png"
    markup = b"<html><script>alert(1)</script></html>"
    response = upload_file(alice, auth.space_id, markup, "x.png", "image/png")
    assert response.json()["type"] == "text/plain"
    served = APIClient().get(path_of(response.json()["url"]))
    assert served["Content-Type"] == "text/plain"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("send", [upload_file, upload_base64])
def test_content_over_the_size_limit_answers_413_json(auth, settings, send):
    settings.PUSHPORT_CONTENT_MAX_BYTES = 100
    (alice,) = sessions(auth, "alice")
    response = send(alice, auth.space_id, data=PNG + b"\x00" * 100)
    assert response.status_code == 413
    assert response.json()["code"] == "content_too_large"


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(auth, settings):
    settings.PUSHPORT_CONTENT_MAX_BYTES = 100
    (alice,) = sessions(auth, "alice")
    response = upload_file(alice, auth.space_id, data=PNG + b"\x00" * 200_000)
    assert response.status_code == 413
    assert response.json()["code"] == "content_too_large"


def test_unrecognised_bytes_answer_415_json(auth):
    (alice,) = sessions(auth, "alice")
    response = upload_file(alice, auth.space_id, b"\x7fELF\x02\x01\x01\x00" + bytes(32))
    assert response.status_code == 415
    assert response.json()["code"] == "content_type_unsupported"


def test_a_recognised_type_the_server_does_not_accept_answers_415(auth, settings):
    settings.PUSHPORT_CONTENT_TYPES = ["image/png"]
    (alice,) = sessions(auth, "alice")
    response = upload_base64(alice, auth.space_id, data=PDF)
    assert response.status_code == 415
    assert "application/pdf" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"data": "not base64!"}, "content_invalid"),
        ({"data": ""}, "content_empty"),
        ({"name": "a.png"}, "validation_error"),
    ],
)
def test_a_bad_json_body_answers_400_with_its_code(auth, body, code):
    (alice,) = sessions(auth, "alice")
    response = alice.post(upload_url(auth.space_id), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_a_multipart_body_without_a_file_field_answers_400(auth):
    (alice,) = sessions(auth, "alice")
    response = alice.post(upload_url(auth.space_id), {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "content_file_missing"


def test_another_body_type_answers_415(auth):
    (alice,) = sessions(auth, "alice")
    response = alice.generic("POST", upload_url(auth.space_id), PNG, content_type="image/png")
    assert response.status_code == 415
    assert response.json()["code"] == "content_body_unsupported"


def test_uploading_needs_a_session_token_of_the_space(auth, other_space):
    response = upload_file(APIClient(), auth.space_id)
    assert response.status_code == 401
    (mallory,) = sessions(AppMessagingAuthFactory(space=other_space), "mallory")
    response = upload_file(mallory, auth.space_id)
    assert response.status_code == 401
    assert response.json()["code"] == "session_token_invalid"


def test_anyone_with_the_signed_url_reads_the_file(auth):
    (alice,) = sessions(auth, "alice")
    url = upload_file(alice, auth.space_id).json()["url"]
    response = APIClient().get(path_of(url))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response.getvalue() == PNG


def test_the_signed_url_stops_working_after_its_max_age(auth, settings, monkeypatch):
    settings.PUSHPORT_CONTENT_URL_MAX_AGE = 60
    (alice,) = sessions(auth, "alice")
    url = upload_file(alice, auth.space_id).json()["url"]
    later = types.SimpleNamespace(time=lambda: time.time() + 61)
    monkeypatch.setattr(signing, "time", later)
    response = APIClient().get(path_of(url))
    assert response.status_code == 403
    assert response.json()["code"] == "content_link_expired"


def test_a_url_without_or_with_a_changed_signature_is_refused(auth):
    (alice,) = sessions(auth, "alice")
    url = path_of(upload_file(alice, auth.space_id).json()["url"])
    unsigned = url.split("?")[0]
    response = APIClient().get(unsigned)
    assert response.status_code == 403
    assert response.json()["code"] == "content_signature_invalid"
    assert APIClient().get(url[:-2] + "xx").status_code == 403


def test_a_signature_does_not_open_another_file(auth):
    (alice,) = sessions(auth, "alice")
    first = path_of(upload_file(alice, auth.space_id).json()["url"])
    second = upload_file(alice, auth.space_id).json()["id"]
    path, query = first.split("?")
    response = APIClient().get(f"{path.rsplit('/', 1)[0]}/{second}?{query}")
    assert response.status_code == 403


def test_a_session_of_the_space_reads_the_file_without_a_signature(auth):
    alice, bob = sessions(auth, "alice", "bob")
    body = upload_file(alice, auth.space_id).json()
    response = bob.get(f"{upload_url(auth.space_id)}/{body['id']}")
    assert response.status_code == 200
    assert response.getvalue() == PNG


def test_another_space_cannot_read_the_file(auth, other_space):
    other = AppMessagingAuthFactory(space=other_space)
    (alice,) = sessions(auth, "alice")
    (mallory,) = sessions(other, "mallory")
    body = upload_file(alice, auth.space_id).json()
    # Its session token is not one of the file's space.
    response = mallory.get(f"{upload_url(auth.space_id)}/{body['id']}")
    assert response.status_code == 403
    # Nor does the signed URL, moved to the other space, open anything there.
    path, query = path_of(body["url"]).split("?")
    moved = path.replace(str(auth.space_id), str(other_space.id))
    assert APIClient().get(f"{moved}?{query}").status_code == 403
    # And in its own space, that file id is not found.
    response = mallory.get(f"{upload_url(other_space.id)}/{body['id']}")
    assert response.status_code == 404
    assert response.json()["code"] == "content_not_found"


@pytest.mark.parametrize("file_id", ["..%2F..%2Fsecret.png", "x.png", "a" * 32 + ".exe"])
def test_a_file_id_that_is_not_one_of_ours_answers_404(auth, file_id):
    (alice,) = sessions(auth, "alice")
    response = alice.get(f"{upload_url(auth.space_id)}/{file_id}")
    assert response.status_code == 404


def test_a_back_end_uploads_through_cpaas_with_a_send_key(auth, api_key):
    client = APIClient()
    upload = SimpleUploadedFile("a.png", PNG, content_type="image/png")
    response = client.post(
        "/cpaas/content",
        {"file": upload},
        format="multipart",
        HTTP_AUTHORIZATION=basic(auth.space_id, api_key),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["_createdBy"].startswith("access:")
    assert f"/apispaces/{auth.space_id}/content/" in body["url"]
    assert APIClient().get(path_of(body["url"])).getvalue() == PNG


def test_cpaas_upload_refuses_another_spaces_key_and_a_key_without_send(auth, other_space):
    theirs = create_api_key(space=other_space, name="theirs")[1]
    response = APIClient().post(
        "/cpaas/content",
        {"data": base64.b64encode(PNG).decode()},
        format="json",
        HTTP_AUTHORIZATION=basic(auth.space_id, theirs),
    )
    assert response.status_code == 401
    devices_only = create_api_key(space=auth.space, name="devices", scopes=["devices"])[1]
    response = APIClient().post(
        "/cpaas/content",
        {"data": base64.b64encode(PNG).decode()},
        format="json",
        HTTP_AUTHORIZATION=basic(auth.space_id, devices_only),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "api_key_scope_missing"
