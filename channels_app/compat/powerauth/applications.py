"""PowerAuth applications are Pushport spaces: one app per space, named by its numeric appId.

`/admin/app/create` sets the caller's space's appId; the lists show the caller's space only;
`id` and `appId` are the same number. An appId that is not the caller's space's answers the
same error as an unknown one, so nothing tells a caller another space's appId exists.
"""

import base64
import binascii
import logging

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from ...forms import ApnsTokenForm, FcmCredentialForm
from ...models import ApnsCredential, FcmCredential, PowerAuthApp
from .envelope import PowerAuthError

logger = logging.getLogger(__name__)


def unknown_app(app_id) -> PowerAuthError:
    return PowerAuthError(f"Application with ID {app_id} does not exist.")


def app_id_of(space) -> int | None:
    """The space's PowerAuth appId, or None before one is set."""
    return PowerAuthApp.objects.filter(space=space).values_list("app_id", flat=True).first()


def require_app(space, app_id: int) -> int:
    """`app_id` when it is the caller's space's; the documented error otherwise."""
    if app_id is None or app_id_of(space) != app_id:
        raise unknown_app(app_id)
    return app_id


def set_app_id(*, space, app_id: int) -> PowerAuthApp:
    """Give the space this appId (replacing its previous one); refused when another has it."""
    try:
        with transaction.atomic():
            app, _ = PowerAuthApp.objects.update_or_create(space=space, defaults={"app_id": app_id})
    except IntegrityError as exc:
        raise PowerAuthError(f"Application with ID {app_id} already exists.") from exc
    return app


def summary(space) -> dict | None:
    """The applicationList entry of the space, or None before it has an appId."""
    app_id = app_id_of(space)
    if app_id is None:
        return None
    return {
        "id": app_id,
        "appId": app_id,
        "appName": space.name,
        "ios": ApnsCredential.objects.filter(space=space).exists(),
        "android": FcmCredential.objects.filter(space=space).exists(),
    }


def unconfigured(space) -> list[dict]:
    """The space when it has an appId but neither an iOS nor an Android configuration."""
    entry = summary(space)
    if entry is None or entry["ios"] or entry["android"]:
        return []
    return [{**entry, "ios": None, "android": None}]


def detail(space, app_id: int, *, include_ios: bool, include_android: bool) -> dict:
    """The application with its iOS and Android settings (never a private key)."""
    require_app(space, app_id)
    answer = {"application": summary(space)}
    if include_ios:
        apns = ApnsCredential.objects.filter(space=space).first()
        answer |= {
            "iosBundle": apns.bundle_id if apns else None,
            "iosKeyId": apns.key_id if apns else None,
            "iosTeamId": apns.team_id if apns else None,
        }
        if apns:
            answer["iosEnvironment"] = apns.environment
    if include_android:
        fcm = FcmCredential.objects.filter(space=space).first()
        answer["androidProjectId"] = fcm.project_id if fcm else None
    return answer


def _decoded(value: str, *, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PowerAuthError(f"privateKeyBase64 is not base64 of {what}.") from exc


def _form_error(form) -> PowerAuthError:
    # The portal form's first message, which names the problem ("this key is RSA; ...").
    field, messages = next(iter(form.errors.items()))
    names = {
        "key_file": "privateKeyBase64",
        "service_account_file": "privateKeyBase64",
        "key_id": "keyId",
        "team_id": "teamId",
        "bundle_id": "bundle",
        "replace": "id",
    }
    return PowerAuthError(f"{names.get(field, field)}: {messages[0]}")


def update_ios(
    *,
    space,
    app_id: int,
    bundle: str,
    key_id: str,
    team_id: str,
    private_key_base64: str,
    environment: str = "",
    actor: str,
) -> None:
    """Store the space's APNs token key exactly as the portal's .p8 upload does.

    The same form validates it (same named errors), encrypts it, marks it unverified and
    replaces a certificate configuration (PowerAuth has only keys).
    """
    require_app(space, app_id)
    current = ApnsCredential.objects.filter(space=space).first()
    data = {
        "key_id": key_id,
        "team_id": team_id,
        "bundle_id": bundle,
        "environment": environment or (current.environment if current else "production"),
        "endpoint": current.endpoint if current else "",
        "replace": "on",
    }
    upload = SimpleUploadedFile("AuthKey.p8", _decoded(private_key_base64, what="a .p8 key"))
    form = ApnsTokenForm(data, {"key_file": upload}, space=space)
    if not form.is_valid():
        raise _form_error(form)
    form.save()
    logger.info("space %s: apns_token saved by API key %s (PowerAuth)", space.pk, actor)


class _PowerAuthFcmForm(FcmCredentialForm):
    """The portal's FCM form; PowerAuth sends no package name, so it may stay empty."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["package_name"].required = False

    def clean_package_name(self):
        if not self.cleaned_data["package_name"]:
            return ""
        return super().clean_package_name()


def update_android(
    *, space, app_id: int, project_id: str, private_key_base64: str, actor: str
) -> None:
    """Store the space's FCM service account exactly as the portal's JSON upload does.

    Same validation (token_uri host rule included), encryption and health reset. The package
    name the space had stays; `projectId` must be the service account's project.
    """
    require_app(space, app_id)
    current = FcmCredential.objects.filter(space=space).first()
    data = {"package_name": current.package_name if current else ""}
    upload = SimpleUploadedFile(
        "service-account.json", _decoded(private_key_base64, what="a service-account JSON")
    )
    form = _PowerAuthFcmForm(data, {"service_account_file": upload}, space=space)
    if not form.is_valid():
        raise _form_error(form)
    if form.account.project_id != project_id:
        raise PowerAuthError(
            f"projectId {project_id} is not the service account's project_id "
            f"{form.account.project_id}."
        )
    form.save()
    logger.info("space %s: fcm saved by API key %s (PowerAuth)", space.pk, actor)


def remove_ios(*, space, app_id: int, actor: str) -> None:
    """Delete the space's APNs configuration, as the portal's Remove does."""
    require_app(space, app_id)
    ApnsCredential.objects.filter(space=space).delete()
    logger.info("space %s: apns removed by API key %s (PowerAuth)", space.pk, actor)


def remove_android(*, space, app_id: int, actor: str) -> None:
    """Delete the space's FCM credential, as the portal's Remove does."""
    require_app(space, app_id)
    FcmCredential.objects.filter(space=space).delete()
    logger.info("space %s: fcm removed by API key %s (PowerAuth)", space.pk, actor)
