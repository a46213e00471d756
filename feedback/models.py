"""Customer feedback (DESIGN §3): what customers say through every channel, with
its rating, its category and the response it got. Feedback follows its customer
(`feedback.selectors`)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import OneRowMixin


class FeedbackCategory(models.Model):
    """The editable list of what feedback is about (admins keep it)."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=60, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("feedback category")
        verbose_name_plural = _("feedback categories")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        language = translation.get_language() or settings.LANGUAGE_CODE
        return self.name_en if language.startswith("en") else self.name_zh


class FeedbackChannel(models.TextChoices):
    SURVEY = "survey", pgettext_lazy("feedback channel", "Survey")
    PHONE = "phone", pgettext_lazy("feedback channel", "Phone")
    EMAIL = "email", pgettext_lazy("feedback channel", "E-mail")
    REVIEW = "review", pgettext_lazy("feedback channel", "Online review")
    IN_PERSON = "in_person", pgettext_lazy("feedback channel", "In person")
    TICKET = "ticket", pgettext_lazy("feedback channel", "Service ticket")


class FeedbackStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("feedback status", "New")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("feedback status", "Acknowledged")
    RESOLVED = "resolved", pgettext_lazy("feedback status", "Resolved")


FEEDBACK_MOVES: dict[str, tuple[str, ...]] = {
    FeedbackStatus.NEW: (FeedbackStatus.ACKNOWLEDGED, FeedbackStatus.RESOLVED),
    FeedbackStatus.ACKNOWLEDGED: (FeedbackStatus.RESOLVED,),
    FeedbackStatus.RESOLVED: (FeedbackStatus.ACKNOWLEDGED,),  # reopened
}


class Feedback(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="feedback",
        db_index=False,  # the (customer, created_at) index leads with it
    )
    channel = models.CharField(_("channel"), max_length=10, choices=FeedbackChannel.choices)
    rating = models.PositiveSmallIntegerField(_("rating (1–5)"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(_("would recommend (0–10)"), null=True, blank=True)
    category = models.ForeignKey(
        FeedbackCategory,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
    )
    text = models.TextField(_("what the customer said"), blank=True, default="")
    order = models.ForeignKey(
        "sales.Order",
        verbose_name=_("related order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
    )
    ticket = models.ForeignKey(
        "interactions.ServiceTicket",
        verbose_name=_("related ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=FeedbackStatus.choices, default=FeedbackStatus.NEW
    )
    response = models.TextField(_("response given"), blank=True, default="")
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("received at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="feedback_rating_1_5",
            ),
            models.CheckConstraint(
                condition=models.Q(nps__isnull=True) | models.Q(nps__lte=10),
                name="feedback_nps_0_10",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=FeedbackStatus.values), name="feedback_status"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="feedback_customer_idx"),
            models.Index(fields=["status", "-created_at"], name="feedback_status_idx"),
            models.Index(fields=["-created_at", "-id"], name="feedback_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.text[:40]}"

    def get_absolute_url(self) -> str:
        return reverse("feedback:detail", args=[self.pk])

    def audit_label(self) -> str:
        """What the audit log calls it: never the customer's words (masked there)."""
        return f"{self._meta.verbose_name} #{self.pk} ({self.get_channel_display()})"

    @property
    def is_detractor(self) -> bool:
        """NPS 0–6, or a rating of 1–2 without an NPS."""
        if self.nps is not None:
            return self.nps <= 6
        return self.rating is not None and self.rating <= 2

    def next_statuses(self) -> tuple[str, ...]:
        return FEEDBACK_MOVES.get(self.status, ())


class PointsKind(models.TextChoices):
    EARNED = "earned", pgettext_lazy("points", "Earned")
    REDEEMED = "redeemed", pgettext_lazy("points", "Redeemed")
    EXPIRED = "expired", pgettext_lazy("points", "Expired")
    ADJUSTED = "adjusted", pgettext_lazy("points", "Adjusted")


class PointsEntry(models.Model):
    """One line of a customer's points ledger. The balance is the sum of the
    lines, never a typed number; earned points are positive, redeemed and
    expired ones negative, adjustments either."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="points",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PointsKind.choices)
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    order = models.ForeignKey(
        "sales.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="points",
    )
    invitation = models.OneToOneField(
        "feedback.SurveyInvitation",
        verbose_name=_("survey answered"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="points",
    )
    rate = models.DecimalField(
        _("points per CNY"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The rate an order's points are counted at (the rules' on the day it earned)."),
    )
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(points=0), name="feedback_points_not_zero"),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="earned", points__gt=0)
                    | models.Q(kind__in=["redeemed", "expired"], points__lt=0)
                    | models.Q(kind="adjusted")
                ),
                name="feedback_points_sign_by_kind",
            ),
            # An order earns once; later changes (refunds) are adjustments.
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(kind="earned"),
                name="feedback_points_earned_once_per_order",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="feedback_points_cust_idx")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.points:+d}"


class LoyaltyRules(OneRowMixin, models.Model):
    """The company's loyalty rules: one row, edited by admins."""

    points_per_cny = models.DecimalField(
        _("points per CNY spent"),
        max_digits=8,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0)],
        help_text=_("Earned on completed orders, on what was paid less refunds; 0: no points."),
    )
    points_valid_months = models.PositiveSmallIntegerField(
        _("points valid for (months)"),
        default=24,
        help_text=_("Earned points expire this many months later, oldest first; 0: never."),
    )
    birthday_coupon_value = models.DecimalField(
        _("birthday coupon (CNY)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Issued to individual customers on their birthday; empty: none."),
    )
    win_back_coupon_value = models.DecimalField(
        _("win-back coupon (CNY)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("The value suggested for a customer who stopped buying."),
    )
    coupon_valid_days = models.PositiveSmallIntegerField(
        _("coupons valid for (days)"), default=30, validators=[MinValueValidator(1)]
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("loyalty rules")
        verbose_name_plural = _("loyalty rules")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="feedback_loyalty_rules_one_row"),
            models.CheckConstraint(
                condition=models.Q(points_per_cny__gte=0), name="feedback_loyalty_rate_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(birthday_coupon_value__isnull=True)
                | models.Q(birthday_coupon_value__gt=0),
                name="feedback_loyalty_birthday_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(win_back_coupon_value__isnull=True)
                | models.Q(win_back_coupon_value__gt=0),
                name="feedback_loyalty_win_back_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(coupon_valid_days__gte=1), name="feedback_loyalty_coupon_days"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Loyalty rules"))


class CouponReason(models.TextChoices):
    FEEDBACK = "feedback", pgettext_lazy("coupon reason", "Feedback")
    WIN_BACK = "win_back", pgettext_lazy("coupon reason", "Win-back")
    BIRTHDAY = "birthday", pgettext_lazy("coupon reason", "Birthday")
    MANUAL = "manual", pgettext_lazy("coupon reason", "Manual")


class Coupon(models.Model):
    """A coupon for one customer: a value (CNY) or a percentage off, valid in a
    window, redeemed once (optionally on an order)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="coupons",
    )
    value = models.DecimalField(
        _("value (CNY)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    percent = models.PositiveSmallIntegerField(_("percent off"), null=True, blank=True)
    reason = models.CharField(
        _("issued for"), max_length=10, choices=CouponReason.choices, default=CouponReason.MANUAL
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    redeemed_order = models.ForeignKey(
        "sales.Order",
        verbose_name=_("redeemed on order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="coupons",
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(value__gt=0, percent__isnull=True)
                    | models.Q(value__isnull=True, percent__gte=1, percent__lte=100)
                ),
                name="feedback_coupon_value_or_percent",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="feedback_coupon_window",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def state(self, today=None) -> str:
        """ "redeemed", "expired", "not_yet" or "valid"."""
        today = today or timezone.localdate()
        if self.redeemed_at is not None:
            return "redeemed"
        if today > self.valid_until:
            return "expired"
        if today < self.valid_from:
            return "not_yet"
        return "valid"


def _in_language(zh: str, en: str) -> str:
    """The wording in the active language, else the other one."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    first, second = (en, zh) if language.startswith("en") else (zh, en)
    return first or second


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("survey status", "Draft")
    OPEN = "open", pgettext_lazy("survey status", "Open")
    CLOSED = "closed", pgettext_lazy("survey status", "Closed")


class Survey(models.Model):
    """A satisfaction survey: questions in Chinese and English, answered by
    customers from personal links (`SurveyInvitation`) without an account."""

    title_zh = models.CharField(_("title (Chinese)"), max_length=120, blank=True, default="")
    title_en = models.CharField(_("title (English)"), max_length=120, blank=True, default="")
    intro_zh = models.TextField(_("introduction (Chinese)"), blank=True, default="")
    intro_en = models.TextField(_("introduction (English)"), blank=True, default="")
    status = models.CharField(
        _("status"), max_length=8, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    link_days = models.PositiveSmallIntegerField(
        _("links valid for (days)"),
        default=14,
        help_text=_("A link sent today can be answered for this many days."),
    )
    points_bonus = models.PositiveIntegerField(
        _("bonus points for answering"), default=0, help_text=_("0: no bonus.")
    )
    category = models.ForeignKey(
        FeedbackCategory,
        verbose_name=_("feedback category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The category the answers are filed under as feedback."),
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(title_zh="", title_en=""), name="feedback_survey_has_title"
            ),
            models.CheckConstraint(
                condition=models.Q(link_days__gte=1, link_days__lte=365),
                name="feedback_survey_link_days",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("feedback:survey_detail", args=[self.pk])

    @property
    def title(self) -> str:
        return _in_language(self.title_zh, self.title_en)

    @property
    def intro(self) -> str:
        return _in_language(self.intro_zh, self.intro_en)


class QuestionKind(models.TextChoices):
    RATING = "rating", pgettext_lazy("question kind", "Rating 1–5")
    NPS = "nps", pgettext_lazy("question kind", "Would recommend 0–10 (NPS)")
    CHOICE = "choice", pgettext_lazy("question kind", "Single choice")
    TEXT = "text", pgettext_lazy("question kind", "Free text")


class SurveyQuestion(models.Model):
    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=QuestionKind.choices)
    text_zh = models.CharField(_("question (Chinese)"), max_length=300, blank=True, default="")
    text_en = models.CharField(_("question (English)"), max_length=300, blank=True, default="")
    choices_zh = models.TextField(
        _("choices (Chinese)"), blank=True, default="", help_text=_("One per line.")
    )
    choices_en = models.TextField(
        _("choices (English)"), blank=True, default="", help_text=_("One per line.")
    )
    required = models.BooleanField(_("answer required"), default=True)

    class Meta:
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=QuestionKind.values), name="feedback_question_kind"
            ),
            models.CheckConstraint(
                condition=~models.Q(text_zh="", text_en=""), name="feedback_question_has_text"
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        return _in_language(self.text_zh, self.text_en)

    def choice_list(self) -> list[str]:
        """The choices in the active language; a missing translation falls back line by line."""
        zh = [line.strip() for line in self.choices_zh.splitlines() if line.strip()]
        en = [line.strip() for line in self.choices_en.splitlines() if line.strip()]
        size = max(len(zh), len(en))
        zh += [""] * (size - len(zh))
        en += [""] * (size - len(en))
        return [_in_language(a, b) for a, b in zip(zh, en, strict=True)]


SURVEY_LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]  # each in its own words


class SurveyInvitation(models.Model):
    """One customer's personal link to a survey: a random token, answered once,
    until it expires. Invitations follow their customer's visibility."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.PROTECT, related_name="invitations"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="survey_invitations",
        db_index=False,  # the (customer, created_at) index leads with it
    )
    token = models.CharField(_("token"), max_length=64, unique=True)
    language = models.CharField(
        _("language"), max_length=10, choices=SURVEY_LANGUAGES, default="zh-hans"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("first opened at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    feedback = models.OneToOneField(
        Feedback,
        verbose_name=_("feedback"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="survey_invitation",
    )

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(answered_at__isnull=True) | models.Q(feedback__isnull=False),
                name="feedback_invitation_answer_has_feedback",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="feedback_invite_cust_idx"),
            models.Index(fields=["survey", "-created_at"], name="feedback_invite_survey_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}/{self.customer_id}"

    def get_public_url(self) -> str:
        return reverse("survey_answer", args=[self.token])

    def state(self, now=None) -> str:
        """ "answered", "expired" or "open"."""
        if self.answered_at is not None:
            return "answered"
        if (now or timezone.now()) >= self.expires_at:
            return "expired"
        return "open"


class SurveyAnswer(models.Model):
    invitation = models.ForeignKey(
        SurveyInvitation,
        verbose_name=_("invitation"),
        on_delete=models.CASCADE,
        related_name="answers",
    )
    question = models.ForeignKey(
        SurveyQuestion, verbose_name=_("question"), on_delete=models.PROTECT, related_name="answers"
    )
    number = models.SmallIntegerField(_("score or choice"), null=True, blank=True)
    text = models.TextField(_("answer"), blank=True, default="")

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["question__position", "question_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invitation", "question"], name="feedback_answer_once_per_question"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invitation_id}/{self.question_id}"

    def display(self) -> str:
        """The answer as the customer saw it: the choice's wording, the score, or the text."""
        if self.question.kind == QuestionKind.CHOICE and self.number is not None:
            choices = self.question.choice_list()
            return choices[self.number] if 0 <= self.number < len(choices) else str(self.number)
        if self.number is not None:
            scale = 5 if self.question.kind == QuestionKind.RATING else 10
            return f"{self.number} / {scale}"
        return self.text
