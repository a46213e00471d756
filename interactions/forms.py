"""Input shapes only: `interactions.services` checks the values (dates in the past
or the future, who may see which customer) and puts its errors next to the fields."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.forms import DateTimeInput
from crm.models import User
from customers.models import Contact
from interactions.models import (
    Channel,
    Direction,
    Interaction,
    Outcome,
    TaskPriority,
    TicketCategory,
)


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class InteractionForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND
    )
    occurred_at = forms.DateTimeField(label=_("When"), widget=DateTimeInput(), required=False)
    contact = forms.ModelChoiceField(
        label=_("With"), queryset=Contact.objects.none(), required=False, empty_label="—"
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", "—"), *Outcome.choices], required=False
    )
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)
    follow_up_at = forms.DateTimeField(
        label=_("Follow up on"),
        widget=DateTimeInput(),
        required=False,
        help_text=_("Creates a task for you on that date."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, customer, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if customer.is_company:
            self.fields["contact"].queryset = customer.contacts.all()
        else:
            del self.fields["contact"]
        if not creating:
            del self.fields["follow_up_at"]  # the follow-up task lives on by itself
        if not self.is_bound and creating:
            self.initial.setdefault("occurred_at", _now_local())
            self.initial.setdefault("channel", Channel.PHONE)

    @staticmethod
    def initial_for(interaction: Interaction) -> dict:
        return {
            "channel": interaction.channel,
            "direction": interaction.direction,
            "occurred_at": timezone.localtime(interaction.occurred_at).strftime("%Y-%m-%dT%H:%M"),
            "contact": interaction.contact_id,
            "subject": interaction.subject,
            "notes": interaction.notes,
            "outcome": interaction.outcome,
            "next_step": interaction.next_step,
            "version": interaction.version,
        }

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=User.objects.none())
    due_at = forms.DateTimeField(label=_("Due"), widget=DateTimeInput())
    priority = forms.ChoiceField(
        label=_("Priority"), choices=TaskPriority.choices, initial=TaskPriority.NORMAL
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class TicketForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    category = forms.ChoiceField(
        label=_("Category"), choices=TicketCategory.choices, initial=TicketCategory.ENQUIRY
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=TaskPriority.choices, initial=TaskPriority.NORMAL
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False,
        empty_label=_("Nobody yet"),
    )  # fmt: skip
    order = forms.ModelChoiceField(
        label=_("Related order"), queryset=None, required=False, empty_label="—"
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, assignees, orders, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees
        self.fields["order"].queryset = orders


class TicketUpdateForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False,
        empty_label=_("Nobody yet"),
    )  # fmt: skip
    priority = forms.ChoiceField(label=_("Priority"), choices=TaskPriority.choices)
    category = forms.ChoiceField(label=_("Category"), choices=TicketCategory.choices)

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class TicketMoveForm(forms.Form):
    status = forms.CharField(widget=forms.HiddenInput)
    resolution = forms.CharField(
        label=_("Resolution"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    satisfaction = forms.TypedChoiceField(
        label=_("Customer satisfaction"),
        choices=[("", "—"), *((str(n), "★" * n) for n in range(1, 6))],
        required=False,
    )


class TicketCommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))


class SegmentTaskForm(TaskForm):
    """A task for every member, for the member's owner (no assignee to choose)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, assignees=User.objects.none(), **kwargs)
        del self.fields["assignee"]
