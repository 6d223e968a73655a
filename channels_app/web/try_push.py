"""The test push page: send a prefilled notification to a profile or one device, and read
each device's outcome in words."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.access import membership_for

from ..models import Device, Message
from ..trial_push import DEFAULT_BODY, DEFAULT_TITLE, TAG, outcomes, send_test_push


class TestPushForm(forms.Form):
    """Whom to send to (a profile id or one device of the space) and what."""

    profile_id = forms.CharField(
        label="Profile id",
        max_length=255,
        required=False,
        help_text="Every active device of this profile gets the push.",
    )
    device = forms.IntegerField(required=False, widget=forms.HiddenInput)
    title = forms.CharField(max_length=1000, initial=DEFAULT_TITLE)
    body = forms.CharField(max_length=4000, initial=DEFAULT_BODY, widget=forms.Textarea)

    def __init__(self, *args, space, **kwargs):
        super().__init__(*args, **kwargs)
        self.space = space

    def clean_device(self):
        device_id = self.cleaned_data.get("device")
        if device_id is None:
            return None
        # Another space's device is no device of this one.
        device = Device.objects.filter(space=self.space, pk=device_id).first()
        if device is None:
            raise forms.ValidationError("This space has no such device.")
        if not device.active:
            raise forms.ValidationError(
                "This device is deactivated: its app must register its token again."
            )
        return device

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("device") and not cleaned.get("profile_id"):
            self.add_error("profile_id", "Name the profile to send the test push to.")
        return cleaned


def _device_from_query(request, space):
    """The ?device= of a device page's link; another space's device answers 404."""
    device_id = request.GET.get("device", "")
    if not device_id.isdigit():
        return None
    return get_object_or_404(Device.objects.select_related("profile"), space=space, pk=device_id)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def space_test_push(request, space_id):
    """The form (prefilled from ?profile= or ?device=); a POST sends and shows the outcome."""
    membership = membership_for(request.user, space_id, change=request.method == "POST")
    space = membership.space
    if request.method == "POST":
        form = TestPushForm(request.POST, space=space)
        if form.is_valid():
            message = send_test_push(
                space=space,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                profile_id=form.cleaned_data["profile_id"],
                device=form.cleaned_data["device"],
            )
            return redirect("space-test-push-result", space_id=space_id, message_id=message.pk)
        device = form.cleaned_data.get("device")
    else:
        device = _device_from_query(request, space)
        initial = {"profile_id": request.GET.get("profile", "")}
        if device is not None:
            initial = {"device": device.pk, "profile_id": ""}
        form = TestPushForm(initial=initial, space=space)
    return render(
        request,
        "channels_app/test_push.html",
        {
            "space": space,
            "membership": membership,
            "menu": "channels",
            "form": form,
            "device": device,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET"])
def space_test_push_result(request, space_id, message_id):
    """Each device's outcome of a test push; while some are still moving, a refresh link."""
    membership = membership_for(request.user, space_id)
    message = get_object_or_404(
        Message, space=membership.space, pk=message_id, metadata__testPush=TAG["testPush"]
    )
    rows = outcomes(message=message)
    return render(
        request,
        "channels_app/test_push_result.html",
        {
            "space": membership.space,
            "membership": membership,
            "menu": "channels",
            "message": message,
            "outcomes": rows,
            "queued": any(not row.settled for row in rows),
        },
    )
