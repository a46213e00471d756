"""Satisfaction surveys: the survey and its questions, written in Chinese and
English (each shown in the active language, else the other), the personal
invitation links customers answer without an account, and their answers, one
per question. An answered invitation points at the feedback it became."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Recorded
from feedback.models.feedback import Feedback, FeedbackCategory


def _in_language(zh: str, en: str) -> str:
    """The wording in the active language, else the other one."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    first, second = (en, zh) if language.startswith("en") else (zh, en)
    return first or second


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("survey status", "Draft")
    OPEN = "open", pgettext_lazy("survey status", "Open")
    CLOSED = "closed", pgettext_lazy("survey status", "Closed")


class Survey(Recorded):
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
