"""A person's own password: changing it, and setting the first one from an invitation link."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change (old password, new one twice), back to the spaces after."""

    template_name = "portal/password_change.html"
    success_url = reverse_lazy("space-list")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed.")
        return response


@method_decorator(never_cache, name="dispatch")
class InvitationAcceptView(auth_views.PasswordResetConfirmView):
    """An invitation's one-time link: the invited person chooses a password, then signs in.

    Django's reset token is made from the password hash, so the link stops working once the
    password is set; an expired or used link says so instead of showing the form.
    """

    template_name = "portal/invitation_accept.html"
    success_url = reverse_lazy("login")
    reset_url_token = "set-password"

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request,
            f"Password set. Sign in as {form.user.get_username()} with your new password.",
        )
        return response
