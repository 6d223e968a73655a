"""Portal forms: spaces, members, API keys."""

from django import forms

from .models import ApiKey, ApiKeyScope, ApiSpace, Role, default_scopes


class SpaceForm(forms.ModelForm):
    """Name a new space or rename one."""

    class Meta:
        model = ApiSpace
        fields = ["name"]
        help_texts = {"name": "Shown in the portal only; apps use the space's id."}


class DeleteSpaceForm(forms.Form):
    """Deleting asks for the space's name, so a slip of the mouse deletes nothing."""

    name = forms.CharField(label="Type the space's name to confirm", max_length=200, strip=False)

    def __init__(self, *args, space: ApiSpace, **kwargs):
        super().__init__(*args, **kwargs)
        self.space = space

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name != self.space.name:
            raise forms.ValidationError(
                f"That is not the name of this space; type “{self.space.name}” exactly."
            )
        return name


class AddMemberForm(forms.Form):
    identifier = forms.CharField(
        label="Username or e-mail",
        max_length=254,
        help_text="An e-mail address without an account gets an invitation to set a password.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.ModelForm):
    # Administration can replace a space's credentials: never granted unless ticked.
    scopes = forms.MultipleChoiceField(
        choices=ApiKeyScope.choices,
        initial=default_scopes,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What servers holding this key may do; none ticked gives send and devices.",
    )

    class Meta:
        model = ApiKey
        fields = ["name"]
        help_texts = {"name": "What uses this key, e.g. “billing server”."}

    def clean_scopes(self):
        # A key with no scope could do nothing at all; nobody means that.
        return self.cleaned_data["scopes"] or default_scopes()
