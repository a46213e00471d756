from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from crm.auth import login_request_lock
from crm.models import User


def service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's error next to the form's field it names, or above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class ThrottledLoginMixin:
    """Says plainly when a username is locked, before and after a failed try."""

    def _raise_if_locked(self) -> None:
        username = self.cleaned_data.get("username") or ""
        lock = login_request_lock(username, self.request)
        if lock is None:
            return
        minutes = lock.minutes_left
        raise ValidationError(
            ngettext(
                "Too many failed log-ins. Try again in %(minutes)d minute, "
                "or ask an administrator to unlock your account.",
                "Too many failed log-ins. Try again in %(minutes)d minutes, "
                "or ask an administrator to unlock your account.",
                minutes,
            ),
            code="locked",
            params={"minutes": minutes},
        )

    def clean(self):
        self._raise_if_locked()
        try:
            return super().clean()
        except ValidationError:
            self._raise_if_locked()
            raise


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["last_name", "first_name", "email", "mobile", "language", "notify_by"]
        widgets = {"mobile": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True


class DateTimeInput(forms.DateTimeInput):
    """A date and time picker (the browser's own), in local time to the minute."""

    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)
