"""The customer register's columns (客户管理簿): one table for the template, the
import's header recognition and the export, so the three never drift apart.

`key` is what `customer_standardise` takes (plus `owner`, resolved by the
import); English headers are a contract: other systems read our exports by them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import CustomerKind, Gender, Industry
from customers.sources import source_choices


@dataclass(frozen=True)
class Column:
    key: str
    en: str  # the English header, fixed: scripts rely on it
    zh: str  # the Chinese header
    label: object  # the translated label for pages
    synonyms: tuple[str, ...] = ()
    # Offered as a drop-down in the template: TextChoices, or a function giving
    # (value, label) pairs from the database (the source channels).
    choices: type | Callable[[], list[tuple[str, str]]] | None = None
    importable: bool = True
    many: bool = False  # several columns may feed it (values joined)
    hint: object = ""
    example: str = ""
    width: int = 14
    extra_keys: tuple[str, ...] = field(default=())

    def header(self, language: str) -> str:
        return self.en if language == "en" else self.zh

    def choice_list(self) -> list[tuple[str, str]]:
        """(value, label) of each choice, labels in the active language."""
        if self.choices is None:
            return []
        if isinstance(self.choices, type):
            return [(value, str(label)) for value, label in self.choices.choices]
        return self.choices()


COLUMNS: tuple[Column, ...] = (
    Column(
        "number",
        "Customer number",
        "客户编号",
        _("Customer number"),
        ("编号", "客户号", "客户代码", "客户id", "customerno", "customerid", "customercode", "id"),
        hint=_(
            "Optional. Kept as the customer's number; a number Kehu knows updates that customer."
        ),
        example="",
    ),
    Column(
        "name",
        "Name",
        "姓名",
        pgettext_lazy("customer", "Name"),
        ("客户名称", "客户姓名", "名称", "客户", "名字", "customername", "fullname", "customer"),
        hint=_("Required. A person's name, or the company name for a company customer."),
        example="张伟",
    ),
    Column(
        "gender",
        "Gender",
        "性别",
        _("Gender"),
        ("sex",),
        choices=Gender,
        hint=_("Choose from the list."),
        example="male",
        width=8,
    ),
    Column(
        "birth_date",
        "Birth date",
        "出生日期",
        _("Birth date"),
        ("生日", "出生年月日", "出生年月", "birthday", "dateofbirth", "dob"),
        hint=_("A date: 1990-03-05, 1990/3/5 or 1990年3月5日."),
        example="1990-03-05",
    ),
    Column(
        "phones",
        "Phone",
        "电话",
        _("Phone"),
        (
            "手机",
            "手机号",
            "手机号码",
            "电话号码",
            "联系电话",
            "联系方式",
            "移动电话",
            "座机",
            "mobile",
            "mobilephone",
            "phonenumber",
            "tel",
            "telephone",
            "cell",
            "cellphone",
            "phones",
        ),
        many=True,
        hint=_("One or more, separated by ; — 138 0013 8000, +86 138…, 010-8888 8888."),
        example="138 0013 8000",
        width=18,
    ),
    Column(
        "emails",
        "E-mail",
        "邮箱",
        _("E-mail"),
        ("电子邮箱", "电子邮件", "邮件", "email", "emailaddress", "mail", "emails"),
        many=True,
        hint=_("One or more, separated by ;"),
        example="zhang.wei@example.com",
        width=24,
    ),
    Column(
        "company",
        "Company",
        "公司",
        _("Company"),
        ("单位", "公司名称", "工作单位", "企业名称", "organisation", "organization", "employer"),
        example="上海云帆贸易有限公司",
        width=24,
    ),
    Column(
        "title",
        "Title",
        "职务",
        _("Job title"),
        ("职位", "头衔", "jobtitle", "position"),
        example="采购经理",
    ),
    Column(
        "province",
        "Province",
        "省份",
        _("Province"),
        ("省", "省份直辖市", "state"),
        example="上海市",
        width=10,
    ),
    Column("city", "City", "城市", _("City"), ("市", "地级市"), example="上海市", width=10),
    Column(
        "district",
        "District",
        "区县",
        _("District"),
        ("区", "县", "区县市"),
        example="浦东新区",
        width=10,
    ),
    Column(
        "address",
        "Address",
        "详细地址",
        _("Address"),
        ("地址", "街道", "街道地址", "通讯地址", "联系地址", "street", "streetaddress"),
        hint=_(
            "The street address, or a whole address: province, city and district are read from it."
        ),
        example="世纪大道100号",
        width=28,
    ),
    Column(
        "postcode",
        "Postcode",
        "邮编",
        _("Postcode"),
        ("邮政编码", "zip", "zipcode", "postalcode"),
        example="200120",
        width=9,
    ),
    Column(
        "kind",
        "Kind",
        "客户类型",
        _("Kind"),
        ("类型", "customertype", "type"),
        choices=CustomerKind,
        hint=_("Person or company; person when empty."),
        example="person",
        width=10,
    ),
    Column("industry", "Industry", "行业", _("Industry"), ("所属行业",), choices=Industry),
    Column(
        "uscc",
        "USCC",
        "统一社会信用代码",
        _("Unified social credit code"),
        ("信用代码", "社会信用代码", "unifiedsocialcreditcode", "creditcode"),
        hint=_("Company customers only: 18 characters."),
        width=20,
    ),
    Column(
        "source",
        "Source",
        "来源",
        _("Source channel"),
        ("客户来源", "来源渠道", "渠道", "channel", "leadsource", "sourcechannel"),
        choices=source_choices,
        example="exhibition",
        width=10,
    ),
    Column(
        "owner",
        "Owner",
        "负责人",
        _("Owner"),
        (
            "销售",
            "销售员",
            "业务员",
            "客户经理",
            "跟进人",
            "归属人",
            "salesrep",
            "salesperson",
            "accountmanager",
        ),
        hint=_(
            "A username or full name of a sales rep; empty for the importer or the chosen owner."
        ),
        width=12,
    ),
    Column(
        "tags",
        "Tags",
        "标签",
        _("Tags"),
        ("tag", "标记", "客户标签"),
        many=True,
        hint=_("Separated by ; or 、"),
        example="VIP;华东",
    ),
    Column(
        "is_key_account",
        "Key account",
        "重点客户",
        _("Key account"),
        ("重要客户", "大客户", "keyaccount", "vip客户"),
        hint=_("是/否 or yes/no."),
        example="",
        width=10,
    ),
    Column("needs", "Needs", "需求", _("Needs"), ("客户需求", "requirements"), width=24),
    Column(
        "preferred_categories",
        "Preferred categories",
        "偏好品类",
        _("Preferred categories"),
        ("品类偏好", "偏好类别"),
        many=True,
    ),
    Column(
        "preferred_brands",
        "Preferred brands",
        "偏好品牌",
        _("Preferred brands"),
        ("品牌偏好",),
        many=True,
    ),
    Column(
        "preferred_colours",
        "Preferred colours",
        "偏好颜色",
        _("Preferred colours"),
        ("颜色偏好", "preferredcolors"),
        many=True,
    ),
    Column(
        "marketing_consent",
        "Marketing consent",
        "营销同意",
        _("Marketing consent"),
        ("同意营销", "营销许可", "consent"),
        hint=_("是/否 or yes/no."),
        width=10,
    ),
    Column(
        "notes",
        "Notes",
        "备注",
        _("Notes"),
        ("说明", "备忘", "remark", "remarks", "comment", "comments", "memo"),
        many=True,
        width=30,
    ),
)

# Export-only columns, derived by Kehu.
DERIVED_COLUMNS: tuple[Column, ...] = (
    # Computed from the purchases (segmentation.scoring): shown, never imported.
    Column(
        "stage",
        "Lifecycle stage",
        "生命周期阶段",
        _("Lifecycle stage"),
        ("阶段", "客户阶段", "客户状态", "stage", "lifecycle"),
        importable=False,
    ),
    Column("created_at", "Created", "创建时间", _("Created"), importable=False, width=17),
    Column("verified_at", "Verified", "核实时间", _("Verified"), importable=False, width=17),
    Column("quality", "Data quality", "数据质量", _("Data quality"), importable=False, width=10),
    # From the customer's orders (segmentation.figures): paid, less refunds, in CNY.
    Column("orders_count", "Orders", "订单数", _("Orders"), importable=False, width=8),
    Column("total_spent", "Total spent", "消费总额", _("Total spent"), importable=False, width=14),
    Column(
        "first_purchase",
        "First purchase",
        "首次购买",
        _("First purchase"),
        importable=False,
        width=17,
    ),
    Column(
        "last_purchase", "Last purchase", "最近购买", _("Last purchase"), importable=False, width=17
    ),
    # From the nightly segmentation (segmentation.scoring, docs/segmentation.md).
    Column(
        "purchase_days", "Purchase days", "购买天数", _("Purchase days"), importable=False, width=8
    ),
    Column(
        "days_since_purchase",
        "Days since last purchase",
        "距上次购买天数",
        _("Days since last purchase"),
        importable=False,
        width=10,
    ),
    Column("recency_score", "R", "R", "R", importable=False, width=4),
    Column("frequency_score", "F", "F", "F", importable=False, width=4),
    Column("monetary_score", "M", "M", "M", importable=False, width=4),
    Column("rfm_segment", "RFM segment", "RFM 分群", _("RFM segment"), importable=False, width=14),
    Column(
        "frequency_tier",
        "Frequency tier",
        "购买频次等级",
        _("Frequency tier"),
        importable=False,
        width=8,
    ),
    Column("value_tier", "Value tier", "价值等级", _("Value tier"), importable=False, width=8),
    Column("p_alive", "P(alive)", "活跃概率", _("P(alive)"), importable=False, width=8),
    Column(
        "expected_purchases_90d",
        "Expected purchases 90d",
        "预计90天购买次数",
        _("Expected purchases 90d"),
        importable=False,
        width=10,
    ),
    Column(
        "expected_value_12m",
        "Expected value 12m",
        "预计12个月价值",
        _("Expected value 12m"),
        importable=False,
        width=14,
    ),
    Column(
        "next_purchase_on",
        "Next purchase",
        "预计下次购买",
        _("Next purchase"),
        importable=False,
        width=12,
    ),
    # The reason column of a rejected-rows workbook, when it comes back fixed.
    Column(
        "rejected_reason", "Reason rejected", "拒绝原因", _("Reason rejected"), importable=False
    ),
)

BY_KEY = {column.key: column for column in COLUMNS}
DERIVED_KEYS = frozenset(column.key for column in DERIVED_COLUMNS)
NOTES = "+notes"  # "keep in the notes, under the column's heading" (not the Notes field)
IGNORE = ""
_NOISE = re.compile(r"[\s*＊:：_\-./、（）()\[\]【】]+|必填|选填")


def header_key(text: object) -> str:
    """A header as compared: NFKC, case-folded, without spaces, marks or (必填)."""
    folded = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return _NOISE.sub("", folded)


@functools.cache
def _known_headers() -> dict[str, str]:
    known: dict[str, str] = {}
    # Derived columns are recognised too, so a re-imported export ignores them.
    for column in (*COLUMNS, *DERIVED_COLUMNS):
        for name in (column.en, column.zh, column.key, *column.synonyms):
            known.setdefault(header_key(name), column.key)
    return known


def column_for_header(text: object) -> str | None:
    """The register column a header names, in Chinese or English, or None."""
    return _known_headers().get(header_key(text))


def is_derived(key: str | None) -> bool:
    """A column Kehu computes (Created, Verified, Data quality): never imported."""
    return key in DERIVED_KEYS
