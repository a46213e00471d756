"""The rows that hang off one customer: the contacts of a company customer, the
phones and e-mails of the customer or a contact (encrypted, each with a blind
index, so an exact search finds any of them), the colleagues who work on it
besides the owner (联合跟进人), and its lifecycle stage history, kept for ever."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.fields import BlindIndexField, EncryptedTextField
from crm.normalise import email_mask, phone_display, phone_mask
from customers.models.customer import Customer, Stage


class Contact(models.Model):
    """A person at a company customer."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("job title"), max_length=100, blank=True, default="")
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.CharField(_("notes"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_primary=True),
                name="customers_contact_one_primary",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PhoneLabel(models.TextChoices):
    MOBILE = "mobile", pgettext_lazy("phone label", "Mobile")
    WORK = "work", pgettext_lazy("phone label", "Work")
    HOME = "home", pgettext_lazy("phone label", "Home")
    OTHER = "other", pgettext_lazy("phone label", "Other")


class CustomerPhone(models.Model):
    """A phone of the customer (contact empty) or of one of its contacts."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="phones"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="phones",
    )
    number = EncryptedTextField(_("phone"))
    number_index = BlindIndexField(_("phone index"))
    label = models.CharField(
        _("label"), max_length=10, choices=PhoneLabel.choices, default=PhoneLabel.MOBILE
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # What a register wrote beside the number ("微信同号", "转 801", "办").
    note = models.CharField(pgettext_lazy("phone", "note"), max_length=40, blank=True, default="")
    wechat = models.BooleanField(
        _("same number on WeChat"),
        default=False,
        help_text=_("微信同号: the number finds them on WeChat."),
    )

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["number_index"], name="customers_phone_index_idx")]

    def __str__(self) -> str:
        return phone_mask(self.number)

    @property
    def display(self) -> str:
        return phone_display(self.number)

    @property
    def masked(self) -> str:
        return phone_mask(self.number)


class CustomerEmail(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="emails"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="emails",
    )
    address = EncryptedTextField(_("e-mail"))
    address_index = BlindIndexField(_("e-mail index"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["address_index"], name="customers_email_index_idx")]

    def __str__(self) -> str:
        return email_mask(self.address)

    @property
    def display(self) -> str:
        return self.address

    @property
    def masked(self) -> str:
        return email_mask(self.address)


class CollaboratorAccess(models.TextChoices):
    READ = "read", pgettext_lazy("collaborator access", "Read")
    EDIT = "edit", pgettext_lazy("collaborator access", "Edit")


class CollaboratorRole(models.TextChoices):
    CO_FOLLOW = "co_follow", pgettext_lazy("collaborator role", "Co-follow-up")
    AFTER_SALES = "after_sales", pgettext_lazy("collaborator role", "After-sales")
    OTHER = "other", pgettext_lazy("collaborator role", "Other")


class Collaborator(models.Model):
    """Someone besides the owner who works on the customer (联合跟进人)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="collaborators"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("colleague"),
        on_delete=models.CASCADE,
        related_name="collaborations",
    )
    role = models.CharField(
        _("role"),
        max_length=20,
        choices=CollaboratorRole.choices,
        default=CollaboratorRole.CO_FOLLOW,
    )
    access = models.CharField(
        _("access"),
        max_length=10,
        choices=CollaboratorAccess.choices,
        default=CollaboratorAccess.READ,
    )
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("collaborator")
        verbose_name_plural = _("collaborators")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "user"], name="customers_collaborator_unique"
            )
        ]
        indexes = [models.Index(fields=["user", "customer"], name="customers_collab_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} → {self.customer_id}"


class StageChange(models.Model):
    """One move of the lifecycle stage, kept for ever (lead → active → …)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(
        _("from"), max_length=10, choices=Stage.choices, blank=True, default=""
    )
    to_stage = models.CharField(_("to"), max_length=10, choices=Stage.choices)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-changed_at"], name="customers_stage_hist_idx")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_stage} → {self.to_stage}"
