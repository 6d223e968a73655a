"""Portal pages: the space list, a space's overview, members and API keys."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from . import extensions, shown_once, spaces
from .access import membership_for
from .apikeys import create_api_key, revoke_api_key
from .forms import AddMemberForm, ApiKeyForm, DeleteSpaceForm, RoleForm, SpaceForm
from .invitations import invite_member
from .models import ApiKey, Membership


def _space_page(request, membership, template, menu, **context):
    return render(
        request,
        template,
        {"space": membership.space, "membership": membership, "menu": menu, **context},
    )


@login_required
@require_http_methods(["GET", "POST"])
def space_list(request):
    """The spaces the user belongs to, and a form to create one."""
    form = SpaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        space = spaces.create_space(user=request.user, name=form.cleaned_data["name"])
        messages.success(request, f"Space “{space.name}” created. You are its owner.")
        return redirect("space-overview", space_id=space.id)
    return render(
        request,
        "portal/space_list.html",
        {"spaces": spaces.spaces_with_roles(user=request.user), "form": form},
    )


def _overview(request, membership, rename_form=None):
    return _space_page(
        request,
        membership,
        "portal/space_overview.html",
        "overview",
        summary=spaces.space_summary(space=membership.space),
        sections=extensions.overview_sections(space=membership.space, membership=membership),
        rename_form=rename_form or SpaceForm(instance=membership.space),
    )


@login_required
@require_http_methods(["GET"])
def space_overview(request, space_id):
    """The space's id, its counts and which channels are configured."""
    return _overview(request, membership_for(request.user, space_id))


@login_required
@require_POST
def space_rename(request, space_id):
    membership = membership_for(request.user, space_id, owner=True)
    form = SpaceForm(request.POST, instance=membership.space)
    if not form.is_valid():
        return _overview(request, membership, rename_form=form)
    spaces.rename_space(space=membership.space, name=form.cleaned_data["name"])
    messages.success(request, "Space renamed.")
    return redirect("space-overview", space_id=space_id)


@login_required
@require_http_methods(["GET", "POST"])
def space_delete(request, space_id):
    """Delete a space once the owner has typed its name."""
    membership = membership_for(request.user, space_id, owner=True)
    form = DeleteSpaceForm(request.POST or None, space=membership.space)
    if request.method == "POST" and form.is_valid():
        name = membership.space.name
        spaces.delete_space(space=membership.space)
        messages.success(request, f"Space “{name}” and everything in it deleted.")
        return redirect("space-list")
    return _space_page(request, membership, "portal/space_delete.html", "overview", form=form)


def _members(request, membership, add_form=None):
    return _space_page(
        request,
        membership,
        "portal/space_members.html",
        "members",
        members=spaces.memberships_of(space=membership.space),
        add_form=add_form or AddMemberForm(),
        role_choices=RoleForm.base_fields["role"].choices,
    )


@login_required
@require_http_methods(["GET", "POST"])
def space_members(request, space_id):
    """Members and their roles; owners add people here."""
    if request.method == "GET":
        return _members(request, membership_for(request.user, space_id))
    membership = membership_for(request.user, space_id, owner=True)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        try:
            added, invited = invite_member(
                space=membership.space,
                identifier=form.cleaned_data["identifier"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            form.add_error("identifier", exc)
        else:
            name, role = added.user.get_username(), added.get_role_display()
            if invited:
                messages.success(
                    request,
                    f"{name} added as {role} and invited by e-mail to set a password.",
                )
            else:
                messages.success(request, f"{name} added as {role}.")
            return redirect("space-members", space_id=space_id)
    return _members(request, membership, add_form=form)


def _member(request, space_id, member_id):
    membership = membership_for(request.user, space_id, owner=True)
    return get_object_or_404(
        Membership.objects.select_related("user"), space=membership.space, pk=member_id
    )


@login_required
@require_POST
def space_member_role(request, space_id, member_id):
    member = _member(request, space_id, member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles owner, manager or viewer.")
    else:
        try:
            spaces.change_role(membership=member, role=form.cleaned_data["role"])
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(
                request, f"{member.user.get_username()} is now {member.get_role_display()}."
            )
    return redirect("space-members", space_id=space_id)


@login_required
@require_POST
def space_member_remove(request, space_id, member_id):
    member = _member(request, space_id, member_id)
    try:
        spaces.remove_member(membership=member)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("space-members", space_id=space_id)
    messages.success(request, f"{member.user.get_username()} removed from this space.")
    if member.user_id == request.user.id:
        return redirect("space-list")
    return redirect("space-members", space_id=space_id)


def _api_keys(request, membership, form=None, **context):
    return _space_page(
        request,
        membership,
        "portal/space_api_keys.html",
        "api_keys",
        keys=membership.space.api_keys.all(),
        form=form or ApiKeyForm(),
        **context,
    )


def _api_key_purpose(key: ApiKey) -> str:
    return f"api-key:{key.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def space_api_keys(request, space_id):
    """The space's API keys; creating one redirects to the page that shows its secret once."""
    if request.method == "GET":
        return _api_keys(request, membership_for(request.user, space_id))
    membership = membership_for(request.user, space_id, change=True)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _api_keys(request, membership, form=form)
    key, secret = create_api_key(
        space=membership.space,
        name=form.cleaned_data["name"],
        scopes=form.cleaned_data["scopes"],
    )
    # Redirected, not rendered: a reload of the next page cannot post the form again.
    shown_once.keep(request, purpose=_api_key_purpose(key), secret=secret)
    return redirect("space-api-key-created", space_id=space_id, key_id=key.pk)


@never_cache
@login_required
@require_http_methods(["GET"])
def space_api_key_created(request, space_id, key_id):
    """A new key's secret, on the first view after its creation only; later views say so."""
    membership = membership_for(request.user, space_id, change=True)
    key = get_object_or_404(ApiKey, space=membership.space, pk=key_id)
    return _space_page(
        request,
        membership,
        "portal/api_key_created.html",
        "api_keys",
        key=key,
        secret=shown_once.take(request, purpose=_api_key_purpose(key)),
    )


@login_required
@require_POST
def space_api_key_revoke(request, space_id, key_id):
    membership = membership_for(request.user, space_id, change=True)
    key = get_object_or_404(ApiKey, space=membership.space, pk=key_id)
    revoke_api_key(key=key)
    messages.success(request, f"Key “{key.name}” ({key.prefix}…) revoked.")
    return redirect("space-api-keys", space_id=space_id)
