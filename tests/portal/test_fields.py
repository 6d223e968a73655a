"""Secrets at rest: the database holds Fernet tokens, never the plaintext."""

import pytest
from django.db import connection

from portal.fields import decrypt
from tests.factories import (
    ApnsCertificateCredentialFactory,
    AppMessagingAuthFactory,
    FcmCredentialFactory,
)


def raw_column(obj, field_name: str) -> str:
    """The stored value of one column, read past the ORM."""
    model = type(obj)
    column = model._meta.get_field(field_name).column
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn(column)} FROM {qn(model._meta.db_table)} "
            f"WHERE {qn(model._meta.pk.column)} = %s",
            [obj.pk],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("factory", "field_name"),
    [
        (AppMessagingAuthFactory, "shared_secret"),
        (FcmCredentialFactory, "service_account_json"),
        (ApnsCertificateCredentialFactory, "certificate_password"),
        (ApnsCertificateCredentialFactory, "certificate_p12"),
    ],
)
def test_a_secret_is_stored_encrypted(db, factory, field_name):
    obj = factory()
    plaintext = getattr(obj, field_name)
    stored = raw_column(obj, field_name)
    assert plaintext not in stored
    assert plaintext[:12] not in stored
    assert decrypt(stored) == plaintext
    obj.refresh_from_db()
    assert getattr(obj, field_name) == plaintext
