"""Customer feedback's models (DESIGN §3), one module per concern: feedback and
its categories (`feedback.models.feedback`), loyalty points, rules and coupons
(`feedback.models.loyalty`), and surveys with their invitations and answers
(`feedback.models.surveys`). Every model and public constant is re-exported
here, so `from feedback.models import X` is the way to import them; the tables
and the app label are those of the single module this package replaced."""

from feedback.models.feedback import (
    FEEDBACK_MOVES,
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackStatus,
)
from feedback.models.loyalty import (
    Coupon,
    CouponReason,
    LoyaltyRules,
    PointsEntry,
    PointsKind,
)
from feedback.models.surveys import (
    SURVEY_LANGUAGES,
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyStatus,
)

__all__ = [
    "FEEDBACK_MOVES",
    "SURVEY_LANGUAGES",
    "Coupon",
    "CouponReason",
    "Feedback",
    "FeedbackCategory",
    "FeedbackChannel",
    "FeedbackStatus",
    "LoyaltyRules",
    "PointsEntry",
    "PointsKind",
    "QuestionKind",
    "Survey",
    "SurveyAnswer",
    "SurveyInvitation",
    "SurveyQuestion",
    "SurveyStatus",
]
