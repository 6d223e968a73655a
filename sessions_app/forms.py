"""Portal form for a space's App Messaging authentication settings."""

import re
import secrets
from urllib.parse import urlsplit

from django import forms
from django.utils import timezone

from .cors import ORIGIN_SCHEMES
from .models import AppMessagingAuth

MIN_SECRET_LENGTH = 16
CLAIM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")


def generate_shared_secret() -> str:
    """A strong random HS256 shared secret (384 bits)."""
    return secrets.token_urlsafe(48)


def _origin(line: str) -> str:
    """One CORS origin, normalised as browsers send it, or a ValidationError naming the fix."""
    if line == "*":
        return line
    parts = urlsplit(line)
    if parts.scheme.lower() not in ORIGIN_SCHEMES or not parts.hostname:
        raise forms.ValidationError(
            f"“{line}” is not an origin: write scheme://host[:port], e.g. "
            "https://app.example.com or capacitor://localhost (schemes: "
            + ", ".join(ORIGIN_SCHEMES)
            + ")"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise forms.ValidationError(f"“{line}” has a path; an origin is only scheme://host[:port]")
    if parts.username is not None or parts.password is not None:
        raise forms.ValidationError(f"“{line}” holds a user name; an origin has none")
    try:
        port = parts.port
    except ValueError:
        raise forms.ValidationError(f"“{line}” has an invalid port") from None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


class AppMessagingAuthForm(forms.ModelForm):
    """Issuer, audience, write-only shared secret, ID claim, anonymous tokens and CORS."""

    shared_secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "The HS256 secret your server signs JWTs with. Write-only: leave empty to keep the "
            "current one, or use “Save and generate a secret”."
        ),
    )

    class Meta:
        model = AppMessagingAuth
        fields = [
            "issuer",
            "audience",
            "shared_secret",
            "id_claim",
            "anonymous_token_lifetime",
            "anonymous_token_access",
            "cors_origins",
        ]
        labels = {"id_claim": "ID claim", "cors_origins": "CORS origins"}
        help_texts = {
            "issuer": "The JWT “iss” your server sets, compared exactly (case-sensitive).",
            "audience": "The JWT “aud” your server sets.",
            "id_claim": "The claim that holds the user's profile id (usually sub).",
            "cors_origins": (
                "Web origins allowed to call the Session API, one per line, "
                "e.g. https://app.example.com; * allows any."
            ),
        }
        widgets = {"cors_origins": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, space, generate_secret: bool = False, **kwargs):
        instance = AppMessagingAuth.objects.filter(space=space).first()
        super().__init__(*args, instance=instance or AppMessagingAuth(space=space), **kwargs)
        self.generated_secret = generate_shared_secret() if generate_secret else ""

    @property
    def has_secret(self) -> bool:
        return bool(self.instance.pk and self.instance.shared_secret)

    def clean_id_claim(self):
        claim = self.cleaned_data["id_claim"]
        if not CLAIM_NAME.match(claim):
            raise forms.ValidationError(
                "A claim name is letters, digits, _ . : or -, e.g. sub or user_id."
            )
        return claim

    def clean_anonymous_token_lifetime(self):
        lifetime = self.cleaned_data["anonymous_token_lifetime"]
        if not 60 <= lifetime <= 30 * 86400:
            raise forms.ValidationError("Between 60 seconds and 30 days (2592000 seconds).")
        return lifetime

    def clean_cors_origins(self):
        errors, origins = [], []
        for number, raw in enumerate(self.cleaned_data["cors_origins"].splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            try:
                origin = _origin(line)
            except forms.ValidationError as exc:
                errors.append(f"Line {number}: {exc.messages[0]}")
                continue
            if origin not in origins:
                origins.append(origin)
        if errors:
            raise forms.ValidationError(errors)
        return "\n".join(origins)

    def clean(self):
        cleaned = super().clean()
        if self.generated_secret:
            cleaned["shared_secret"] = self.generated_secret
        secret = cleaned.get("shared_secret", "")
        if secret and len(secret) < MIN_SECRET_LENGTH:
            self.add_error(
                "shared_secret",
                f"Use at least {MIN_SECRET_LENGTH} characters, or generate a secret.",
            )
        elif not secret and self.has_secret:
            # Empty means "keep the stored secret": a field missing here is not written back.
            cleaned.pop("shared_secret", None)
        elif not secret:
            self.add_error("shared_secret", "Enter the shared secret, or generate one.")
        return cleaned

    def save(self, commit=True):
        if self.cleaned_data.get("shared_secret"):
            self.instance.shared_secret_changed_at = timezone.now()
        return super().save(commit=commit)
