"""Portal forms for a space's push channels; uploads are validated completely in clean_*."""

import base64
import re

from cryptography.hazmat.primitives import serialization
from django import forms
from django.utils import timezone

from .credentials import (
    CredentialError,
    PasswordError,
    parse_p8,
    parse_p12,
    parse_service_account,
)
from .models import ApnsCredential, ApnsKind, FcmCredential, Health, PowerAuthApp
from .validators import validate_apns_endpoint

# A credential file is a few KB; anything much bigger is the wrong file.
MAX_UPLOAD_BYTES = 64 * 1024

JAVA_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
BUNDLE_ID = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
APPLE_ID = re.compile(r"^[A-Z0-9]{10}$")

SECRET_WIDGET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


def _read_upload(upload, *, what: str) -> bytes:
    if upload.size > MAX_UPLOAD_BYTES:
        raise forms.ValidationError(
            f"this file is {upload.size // 1024} KB; {what} is a few KB: is it the right file?"
        )
    return upload.read()


def _clear_health(credential) -> None:
    """A newly saved key or certificate is unverified until a verification or send succeeds."""
    if credential.health != Health.UNVERIFIED:
        credential.health = Health.UNVERIFIED
        credential.health_reason = ""
        credential.health_changed_at = timezone.now()
    credential.verified_at = None
    credential.verification_result = ""


def _validate_bundle_id(value: str) -> str:
    if not BUNDLE_ID.match(value):
        raise forms.ValidationError(
            "A bundle ID is letters, digits and hyphens in dot-separated parts, "
            "e.g. com.example.app."
        )
    return value


def _validate_endpoint(value: str) -> str:
    """An optional host:port replacing Apple's hosts, on the operator's allow-list."""
    validate_apns_endpoint(value)
    return value


class FcmCredentialForm(forms.ModelForm):
    """Android: package name and the service-account JSON (kept when no new file is given)."""

    service_account_file = forms.FileField(
        required=False,
        label="Service-account JSON",
        help_text="Firebase console > Project settings > Service accounts > Generate new key.",
    )

    class Meta:
        model = FcmCredential
        fields = ["package_name"]
        help_texts = {"package_name": "The Android applicationId, e.g. com.example.app."}

    def __init__(self, *args, space, **kwargs):
        instance = FcmCredential.objects.filter(space=space).first()
        super().__init__(*args, instance=instance or FcmCredential(space=space), **kwargs)
        self.account = None

    def clean_package_name(self):
        name = self.cleaned_data["package_name"]
        if not JAVA_PACKAGE.match(name):
            raise forms.ValidationError(
                "A package name is two or more dot-separated parts, each starting with a letter "
                "(letters, digits, _), e.g. com.example.app."
            )
        return name

    def clean_service_account_file(self):
        upload = self.cleaned_data["service_account_file"]
        if upload is None:
            if not self.instance.pk:
                raise forms.ValidationError("Upload the service-account JSON key.")
            return None
        data = _read_upload(upload, what="a service-account key")
        try:
            self.account = parse_service_account(data)
        except CredentialError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data.decode("utf-8-sig")

    def save(self, commit=True):
        credential = self.instance
        if self.account is not None:
            credential.service_account_json = self.cleaned_data["service_account_file"]
            credential.project_id = self.account.project_id
            credential.client_email = self.account.client_email
        _clear_health(credential)
        return super().save(commit=commit)


class ApnsForm(forms.ModelForm):
    """What both kinds of APNs configuration share: the one-per-space record and switching."""

    kind: str
    other_kind_label: str

    replace = forms.BooleanField(required=False)

    def __init__(self, *args, space, **kwargs):
        instance = ApnsCredential.objects.filter(space=space).first()
        super().__init__(*args, instance=instance or ApnsCredential(space=space), **kwargs)
        self.replaces_other = bool(instance and instance.kind != self.kind)
        if self.replaces_other:
            self.fields[
                "replace"
            ].label = f"Replace this space's APNs {self.other_kind_label} (it will be deleted)"
        else:
            del self.fields["replace"]

    @property
    def is_current(self) -> bool:
        """Whether the space's stored configuration is of this form's kind."""
        return bool(self.instance.pk) and not self.replaces_other

    def clean_replace(self):
        if not self.cleaned_data["replace"]:
            raise forms.ValidationError(
                f"This space uses an APNs {self.other_kind_label}; a space has one APNs "
                "configuration. Tick the box to replace it."
            )
        return True

    def clean_bundle_id(self):
        bundle_id = self.cleaned_data["bundle_id"]
        return _validate_bundle_id(bundle_id) if bundle_id else bundle_id

    def clean_endpoint(self):
        return _validate_endpoint(self.cleaned_data["endpoint"])

    def save(self, commit=True):
        self.instance.kind = self.kind
        _clear_health(self.instance)
        return super().save(commit=commit)


class ApnsTokenForm(ApnsForm):
    """Apple token authentication: the .p8 auth key, its Key ID and the Team ID."""

    kind = ApnsKind.TOKEN
    other_kind_label = "certificate"

    key_file = forms.FileField(
        required=False,
        label="Auth key (.p8)",
        help_text="Apple developer account > Keys; leave empty to keep the stored key.",
    )

    class Meta:
        model = ApnsCredential
        fields = ["key_id", "team_id", "bundle_id", "environment", "endpoint"]
        labels = {"key_id": "Key ID", "team_id": "Team ID", "bundle_id": "Bundle ID"}
        help_texts = {
            "key_id": "10 characters, shown next to the key in your Apple developer account.",
            "team_id": "10 characters, shown under Membership in your Apple developer account.",
            "environment": "Used for devices that do not say which environment they are in.",
            "endpoint": "Optional host:port replacing Apple's hosts (an internal gateway).",
        }

    field_order = ["key_file", "key_id", "team_id", "bundle_id", "environment", "endpoint"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("key_id", "team_id"):
            self.fields[name].required = True

    def _apple_id(self, name: str, label: str) -> str:
        value = self.cleaned_data[name].strip().upper()
        if not APPLE_ID.match(value):
            raise forms.ValidationError(f"A {label} is 10 letters and digits, e.g. ABC123DEFG.")
        return value

    def clean_key_id(self):
        return self._apple_id("key_id", "Key ID")

    def clean_team_id(self):
        return self._apple_id("team_id", "Team ID")

    def clean_key_file(self):
        upload = self.cleaned_data["key_file"]
        if upload is None:
            if not self.is_current:
                raise forms.ValidationError("Upload the .p8 auth key.")
            return None
        data = _read_upload(upload, what="a .p8 key")
        try:
            key = parse_p8(data)
        except CredentialError as exc:
            raise forms.ValidationError(str(exc)) from exc
        # Stored re-serialised, so whatever surrounded the PEM block in the upload is dropped.
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def save(self, commit=True):
        credential = self.instance
        if self.cleaned_data["key_file"]:
            credential.key_p8 = self.cleaned_data["key_file"]
        credential.certificate_p12 = credential.certificate_password = ""
        credential.subject = credential.topic = ""
        credential.not_after = None
        return super().save(commit=commit)


class ApnsCertificateForm(ApnsForm):
    """Apple certificate authentication: the .p12 and its password."""

    kind = ApnsKind.CERTIFICATE
    other_kind_label = "token key"

    certificate_file = forms.FileField(
        required=False,
        label="Certificate (.p12)",
        help_text="Exported from Keychain Access with its private key; leave empty to keep it.",
    )
    password = forms.CharField(
        required=False,
        strip=False,
        widget=SECRET_WIDGET,
        help_text="The password the .p12 was exported with; empty if it has none.",
    )
    bundle_id = forms.CharField(
        required=False,
        max_length=255,
        label="Bundle ID",
        help_text="Leave empty to use the one in the certificate (its UID).",
    )

    class Meta:
        model = ApnsCredential
        fields = ["bundle_id", "environment", "endpoint"]
        help_texts = {
            "environment": "Used for devices that do not say which environment they are in.",
            "endpoint": "Optional host:port replacing Apple's hosts (an internal gateway).",
        }

    field_order = ["certificate_file", "password", "bundle_id", "environment", "endpoint"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bundle = None
        self.p12_data = b""
        if self.replaces_other:
            self.initial.pop("bundle_id", None)

    def clean(self):
        cleaned = super().clean()
        upload, password = cleaned.get("certificate_file"), cleaned.get("password", "")
        if upload is not None:
            self._parse_upload(upload, password)
        elif not self.is_current:
            self.add_error("certificate_file", "Upload the .p12 certificate.")
        elif password:
            self.add_error(
                "password", "A password is stored with its .p12: upload the file again with it."
            )
        if "bundle_id" in cleaned and not cleaned["bundle_id"]:
            if self.bundle is not None and self.bundle.topic:
                cleaned["bundle_id"] = self.bundle.topic
            elif self.is_current and upload is None:
                cleaned["bundle_id"] = self.instance.bundle_id
            elif self.bundle is not None:
                self.add_error(
                    "bundle_id", "This certificate names no bundle ID (UID); enter the bundle ID."
                )
        return cleaned

    def _parse_upload(self, upload, password: str) -> None:
        try:
            data = _read_upload(upload, what="a .p12 certificate")
            self.bundle = parse_p12(data, password)
        except forms.ValidationError as exc:
            self.add_error("certificate_file", exc)
        except PasswordError as exc:
            self.add_error("password", str(exc))
        except CredentialError as exc:
            self.add_error("certificate_file", str(exc))
        else:
            self.p12_data = data

    def save(self, commit=True):
        credential = self.instance
        if self.bundle is not None:
            credential.certificate_p12 = base64.b64encode(self.p12_data).decode()
            credential.certificate_password = self.cleaned_data["password"]
            credential.subject = self.bundle.subject
            credential.topic = self.bundle.topic
            credential.not_after = self.bundle.not_after
        credential.key_p8 = credential.key_id = credential.team_id = ""
        return super().save(commit=commit)


class PowerAuthAppForm(forms.ModelForm):
    """The numeric appId PowerAuth callers name this space by (one per space, unique)."""

    class Meta:
        model = PowerAuthApp
        fields = ["app_id"]
        labels = {"app_id": "PowerAuth appId"}
        help_texts = {
            "app_id": "The appId your PowerAuth Push Server callers send; requests with any "
            "other appId are refused."
        }

    def __init__(self, *args, space, **kwargs):
        instance = PowerAuthApp.objects.filter(space=space).first()
        super().__init__(*args, instance=instance or PowerAuthApp(space=space), **kwargs)
