"""Re-encrypt every secret at rest with the first of PUSHPORT_ENCRYPTION_KEYS."""

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from portal.fields import encrypted_fields, rotate


def reencrypt_model(model, fields) -> int:
    """Rotate every stored value of these fields; returns how many values were re-encrypted."""
    # Read the stored tokens, not the plaintexts the field would hand back.
    raw = {f"raw_{f.attname}": Cast(f.attname, models.TextField()) for f in fields}
    rows = model._base_manager.select_for_update().annotate(**raw).values_list("pk", *raw)
    count = 0
    for pk, *tokens in rows:
        changes = {}
        for field, token in zip(fields, tokens, strict=True):
            if not token:
                continue
            try:
                rotated = rotate(token)
            except InvalidToken:
                raise CommandError(
                    f"{model._meta.label} {pk}: {field.name} cannot be decrypted with any key "
                    "of PUSHPORT_ENCRYPTION_KEYS; nothing was changed."
                ) from None
            # An expression is written as is, so the field does not encrypt the token again.
            changes[field.attname] = models.Value(rotated, output_field=models.TextField())
        if changes:
            model._base_manager.filter(pk=pk).update(**changes)
            count += len(changes)
    return count


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field of every model with the first key of "
        "PUSHPORT_ENCRYPTION_KEYS, so older keys can then be removed. Safe to run again."
    )

    def handle(self, *args, **options):
        counts = {}
        # All or nothing: a value no key decrypts leaves every row as it was.
        with transaction.atomic():
            for model in apps.get_models():
                # Fields a parent model's table holds are rotated with that model.
                fields = [f for f in encrypted_fields(model) if f.model is model]
                if fields:
                    counts[model._meta.label] = reencrypt_model(model, fields)
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} value{'s' if count != 1 else ''} re-encrypted")
        self.stdout.write(self.style.SUCCESS("Every secret is encrypted with the first key."))
