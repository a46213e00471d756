"""Sending surveys: personal invitation links (a random token each) to an open
survey, for the customers the sender serves, at most `MAX_INVITATIONS` at a
time; a customer who still has an open link keeps it rather than getting a
second. The links can go out by e-mail, in each invitation's language, once the
sending transaction commits; the e-mailing stamps each invitation as it goes,
so a retried task sends nothing twice."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.audit import audit_record
from crm.models import AuditAction, User
from customers.models import Customer
from feedback import tasks  # the wrapper imports this module back: use it as tasks.x
from feedback.models import SURVEY_LANGUAGES, Survey, SurveyInvitation, SurveyStatus
from interactions.selectors import servable_customers

MAX_INVITATIONS = 5_000  # per send; a bigger list is cut into several sends


def _token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters, 192 random bits


@dataclass
class InviteResult:
    invitations: list[SurveyInvitation] = field(default_factory=list)
    created: int = 0
    already_open: int = 0
    skipped: int = 0

    def summary(self) -> str:
        parts = [
            ngettext(
                "%(count)d invitation created.", "%(count)d invitations created.", self.created
            )
            % {"count": self.created}
        ]
        if self.already_open:
            parts.append(
                ngettext(
                    "%(count)d customer already had an open link; it was kept.",
                    "%(count)d customers already had an open link; it was kept.",
                    self.already_open,
                )
                % {"count": self.already_open}
            )
        if self.skipped:
            parts.append(
                ngettext(
                    "%(count)d customer you do not serve was left out.",
                    "%(count)d customers you do not serve were left out.",
                    self.skipped,
                )
                % {"count": self.skipped}
            )
        return " ".join(parts)


@transaction.atomic
def survey_invite(
    *,
    actor: User,
    survey_id: int,
    customer_ids: Iterable[int],
    language: str = "zh-hans",
    email: bool = False,
    base_url: str = "",
    skip_others: bool = False,
    request=None,
) -> InviteResult:
    """Personal links to an open survey for customers the actor serves (with
    `skip_others`, customers of a list the actor does not serve are left out
    and counted; otherwise the send is refused). A customer with an open
    (unanswered, unexpired) link to this survey keeps it rather than getting a
    second. With `email`, the links go out by e-mail once this transaction
    commits."""
    if not actor.has_perm("feedback.add_surveyinvitation"):
        raise ValidationError(_("You may not send surveys."), code="forbidden")
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None or survey.status != SurveyStatus.OPEN:
        raise ValidationError(
            {"survey": ValidationError(_("Choose a survey that is open."), "not_open")}
        )
    if language not in dict(SURVEY_LANGUAGES):
        raise ValidationError({"language": ValidationError(_("Choose from the list."), "invalid")})
    wanted = sorted(set(customer_ids))
    if not wanted:
        raise ValidationError(_("No customers to send the survey to."), code="empty")
    if len(wanted) > MAX_INVITATIONS:
        raise ValidationError(
            _("At most %(max)d customers at a time; narrow the list first.")
            % {"max": MAX_INVITATIONS},
            code="too_many",
        )
    allowed = list(
        servable_customers(actor).filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True)
    )
    if not allowed or (len(allowed) != len(wanted) and not skip_others):
        raise ValidationError(
            _("You may not send surveys to some of these customers."), code="forbidden"
        )
    now = timezone.now()
    existing = {
        invitation.customer_id: invitation
        for invitation in SurveyInvitation.objects.filter(
            survey=survey, customer_id__in=allowed, answered_at__isnull=True, expires_at__gt=now
        )
    }
    expires = now + datetime.timedelta(days=survey.link_days)
    new = SurveyInvitation.objects.bulk_create(
        [
            SurveyInvitation(
                survey=survey,
                customer_id=pk,
                token=_token(),
                language=language,
                sent_by=actor,
                created_at=now,
                expires_at=expires,
            )
            for pk in allowed
            if pk not in existing
        ]
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=survey,
        changes={},
        extra={"invitations": len(new), "customers": len(allowed), "email": email},
        request=request,
    )
    result = InviteResult(
        invitations=[*existing.values(), *new],
        created=len(new),
        already_open=len(existing),
        skipped=len(wanted) - len(allowed),
    )
    if email:
        ids = [invitation.pk for invitation in result.invitations]
        transaction.on_commit(lambda: tasks.survey_invitations_email_task.delay(ids, base_url))
    return result


def public_url(invitation: SurveyInvitation, base_url: str = "") -> str:
    base = (getattr(settings, "SITE_URL", "") or base_url).rstrip("/")
    return base + invitation.get_public_url()


def _customer_email(customer: Customer) -> str:
    """The customer's own first e-mail, else its first contact's."""
    emails = sorted(customer.emails.all(), key=lambda e: (e.contact_id is not None, e.position))
    return emails[0].address if emails else ""


def survey_invitations_email(invitation_ids: Sequence[int], base_url: str = "") -> int:
    """E-mail the links (each in its invitation's language) to the customers who
    have an address; an invitation already e-mailed, answered or expired is left
    alone, so a retried task sends nothing twice. Returns how many were sent."""
    sent = 0
    now = timezone.now()
    invitations = (
        SurveyInvitation.objects.filter(
            pk__in=list(invitation_ids),
            emailed_at__isnull=True,
            answered_at__isnull=True,
            expires_at__gt=now,
        )
        .select_related("survey", "customer")
        .prefetch_related("customer__emails")
    )
    for invitation in invitations:
        address = _customer_email(invitation.customer)
        if not address:
            continue
        with translation.override(invitation.language):
            context = {
                "invitation": invitation,
                "survey": invitation.survey,
                "url": public_url(invitation, base_url),
                "customer": invitation.customer,
            }
            subject = " ".join(
                render_to_string("feedback/email/invitation_subject.txt", context).split()
            )
            body = render_to_string("feedback/email/invitation.txt", context)
            html = render_to_string("feedback/email/invitation.html", context)
        message = EmailMultiAlternatives(subject, body, to=[address])
        message.attach_alternative(html, "text/html")
        message.send()
        # Stamped one by one: a failure half-way leaves the rest for the retry.
        SurveyInvitation.objects.filter(pk=invitation.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent
