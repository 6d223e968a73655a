"""Django admin for the portal's models, and the space scoping every app's admin reuses.

A non-superuser sees only the objects of spaces they are a member of, changes only those of
spaces where their role may change things, and never sees a secret: encrypted fields are left
out of forms and lists and shown as "set" or "not set".
"""

from django import forms
from django.contrib import admin
from django.db import models
from django.forms.fields import InvalidJSONInput
from django.http import Http404

from .access import spaces_for
from .apikeys import revoke_api_key
from .fields import encrypted_fields
from .models import ApiKey, ApiSpace, Membership, Role
from .parsers import MAX_JSON_DEPTH, too_deep
from .spaces import change_role, is_last_owner, remove_member

CHANGE_ROLES = (Role.OWNER, Role.ADMIN)


def secret_fields(model) -> list[str]:
    """Names of a model's encrypted fields."""
    return [f.name for f in encrypted_fields(model)]


def _secret_status(name: str):
    @admin.display(description=name.replace("_", " "))
    def status(obj):
        return "set" if getattr(obj, name, "") else "not set"

    status.__name__ = f"{name}_status"
    return status


class BoundedJSONFormField(forms.JSONField):
    """The admin's JSON editor, with documents nested too deeply a form error, not a 500.

    Django's JSONField catches only JSONDecodeError; a deep document raises RecursionError
    when parsed (and again when the invalid form is shown with what was typed).
    """

    def to_python(self, value):
        try:
            data = super().to_python(value)
        except RecursionError:
            data, deep = None, True
        else:
            deep = too_deep(data)
        if deep:
            raise forms.ValidationError(
                f"This JSON nests more than {MAX_JSON_DEPTH} levels deep.", code="too_deep"
            )
        return data

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)


class SpaceScopedAdmin(admin.ModelAdmin):
    """ModelAdmin limited to the caller's spaces; `space_path` leads from the model to its space."""

    space_path = "space"
    formfield_overrides = {models.JSONField: {"form_class": BoundedJSONFormField}}
    # Roles a member needs to change (or delete) an object of a space through the admin.
    change_roles = CHANGE_ROLES

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        self.secret_statuses = [_secret_status(name) for name in secret_fields(model)]

    # Secrets: never in a form, a list or a detail page.

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or ()), *secret_fields(self.model)]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *self.secret_statuses]

    def get_list_display(self, request):
        return [*super().get_list_display(request), *self.secret_statuses]

    def has_add_permission(self, request):
        # A secret can only be set where the portal validates it (the Channels page).
        return not self.secret_statuses and super().has_add_permission(request)

    # Scoping: what a non-superuser sees and may change.

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.space_path}__in": spaces_for(request.user)})

    def get_object(self, request, object_id, from_field=None):
        # Another space's object answers 404, as everywhere else, not the admin's redirect.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object in your spaces")
        return obj

    def space_id_of(self, obj):
        """The id of the space an object belongs to, following `space_path`."""
        *hops, last = self.space_path.split("__")
        for hop in hops:
            obj = getattr(obj, hop)
        return obj.pk if last == "pk" else getattr(obj, f"{last}_id")

    def _may_change(self, request, obj) -> bool:
        if request.user.is_superuser or obj is None:
            return True
        return Membership.objects.filter(
            user=request.user, space_id=self.space_id_of(obj), role__in=self.change_roles
        ).exists()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_change(request, obj)

    def _changeable_spaces(self, request):
        if request.user.is_superuser:
            return ApiSpace.objects.all()
        return ApiSpace.objects.filter(
            memberships__user=request.user, memberships__role__in=self.change_roles
        )

    def _scoped_choices(self, request, related_model):
        if related_model is ApiSpace:
            return self._changeable_spaces(request)
        related_admin = self.admin_site._registry.get(related_model)
        if isinstance(related_admin, SpaceScopedAdmin):
            return related_admin.get_queryset(request)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        queryset = self._scoped_choices(request, db_field.related_model)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        queryset = self._scoped_choices(request, db_field.related_model)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(ApiSpace)
class ApiSpaceAdmin(SpaceScopedAdmin):
    space_path = "pk"
    change_roles = (Role.OWNER,)
    list_display = ["name", "id", "created_at"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and not request.user.is_superuser:
            # Whoever creates a space owns it, or they could not see it afterwards.
            Membership.objects.create(user=request.user, space=obj, role=Role.OWNER)


class MembershipAdminForm(forms.ModelForm):
    """A change of role never leaves the space without an owner."""

    class Meta:
        model = Membership
        fields = ["user", "space", "role"]

    def clean(self):
        cleaned = super().clean()
        membership = self.instance
        if (
            membership.pk is not None
            and cleaned.get("role") != Role.OWNER
            and is_last_owner(membership=membership)
        ):
            self.add_error("role", "A space needs at least one owner: make another member one.")
        return cleaned


@admin.register(Membership)
class MembershipAdmin(SpaceScopedAdmin):
    form = MembershipAdminForm
    change_roles = (Role.OWNER,)
    list_display = ["user", "space", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "space__name"]
    readonly_fields = ["created_at"]

    def get_actions(self, request):
        # Bulk delete would bypass the one-owner rule that delete_model keeps.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_readonly_fields(self, request, obj=None):
        # A membership moves between roles, never between users or spaces.
        fixed = ["user", "space"] if obj is not None else []
        return [*super().get_readonly_fields(request, obj), *fixed]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.role == Role.OWNER and is_last_owner(membership=obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change and "role" in form.changed_data:
            change_role(membership=obj, role=obj.role)
        else:
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        remove_member(membership=obj)


@admin.register(ApiKey)
class ApiKeyAdmin(SpaceScopedAdmin):
    list_display = ["name", "space", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "space__name"]
    exclude = ["secret_hash"]
    readonly_fields = ["space", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # A key's secret is shown once, on the portal's API keys page, where keys are created.
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            if self._may_change(request, key):
                revoke_api_key(key=key)
