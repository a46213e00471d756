"""Input shapes only: amounts arrive as text and `sales.services` parses and checks
them (full-width digits, ¥ signs, a currency's decimal places), so the messages
stand next to the field that has the problem."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.forms import DateTimeInput, service_errors  # noqa: F401 - where the sales pages import it
from crm.models import User
from sales.contracts import CONTRACT_FIELDS
from sales.models import (
    OPEN_STAGES,
    Competitor,
    ContractKind,
    Currency,
    LostReason,
    Opportunity,
    PricePosition,
    Product,
    Stage,
)
from sales.pipeline import COMPETITOR_FIELDS
from sales.services.lines import LineInput
from sales.services.orders import INITIAL_STATUSES
from sales.services.values import decimal_parse, line_total, money_places

LINES_PREFIX = "lines"


LINE_FIELDS = ("product", "description", "quantity", "unit_price", "discount_percent")


class ProductForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=60)
    name = forms.CharField(label=pgettext_lazy("product", "Name"), max_length=250)
    category = forms.CharField(label=_("Category"), max_length=80, required=False)
    brand = forms.CharField(label=_("Brand"), max_length=80, required=False)
    variant = forms.CharField(label=_("Colour or variant"), max_length=120, required=False)
    unit = forms.CharField(label=_("Unit"), max_length=20, required=False)
    list_price = forms.CharField(label=_("List price"), max_length=30)
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    is_active = forms.BooleanField(
        label=pgettext_lazy("product", "Active"), required=False, initial=True
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)

    @staticmethod
    def initial_for(product: Product) -> dict:
        return {
            "sku": product.sku,
            "name": product.name,
            "category": product.category,
            "brand": product.brand,
            "variant": product.variant,
            "unit": product.unit,
            "list_price": product.list_price,
            "currency": product.currency,
            "is_active": product.is_active,
            "description": product.description,
        }


class OrderForm(forms.Form):
    salesperson = forms.ModelChoiceField(
        label=_("Salesperson"), queryset=User.objects.none(), required=False
    )
    ordered_at = forms.DateTimeField(label=_("Order date"), widget=DateTimeInput())
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(s.value, s.label) for s in INITIAL_STATUSES],
        help_text=_("Choose “Completed” to record a sale that has already taken place."),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    exchange_rate = forms.CharField(
        label=_("Exchange rate to CNY"),
        required=False,
        max_length=20,
        help_text=_("For orders in another currency: CNY per unit of it."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, salespeople, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["salesperson"].queryset = salespeople
        self.fields["salesperson"].empty_label = pgettext_lazy(
            "salesperson", "The customer's owner"
        )
        if not creating:
            del self.fields["status"]

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class ProductSelect(forms.Select):
    """Each option carries its list price, so the page can fill an empty unit price
    the moment a product is chosen (static/js/kehu.js)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        product = getattr(value, "instance", None)
        if product is not None:
            option["attrs"]["data-price"] = f"{product.list_price}"
            option["attrs"]["data-currency"] = product.currency
        return option


class OrderLineForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), required=False, widget=ProductSelect
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Optional with a product; without one, say what was sold.")}
        ),
    )
    quantity = forms.CharField(label=_("Quantity"), max_length=20, required=False)
    unit_price = forms.CharField(label=_("Unit price"), max_length=30, required=False)
    discount_percent = forms.CharField(label=_("Discount %"), max_length=10, required=False)

    def __init__(self, *args, products=None, **kwargs):
        super().__init__(*args, **kwargs)
        if products is not None:
            self.fields["product"].queryset = products

    def is_blank(self) -> bool:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return not any(data.get(name) for name in LINE_FIELDS)

    def line_input(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(
            product=data.get("product"),
            description=data.get("description", ""),
            quantity=data.get("quantity"),
            unit_price=data.get("unit_price"),
            discount_percent=data.get("discount_percent"),
        )

    def preview_total(self, currency: str) -> Decimal | None:
        """The line's total as it would be saved, when its numbers can be read."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        try:
            quantity = decimal_parse(data.get("quantity"))
            price = decimal_parse(data.get("unit_price"))
            discount = decimal_parse(data.get("discount_percent")) or Decimal(0)
        except ValueError:
            return None
        if quantity is None or price is None or quantity <= 0 or price < 0:
            return None
        if not 0 <= discount <= 100 or -price.as_tuple().exponent > money_places(currency):
            return None
        return line_total(quantity, price, discount, currency)


class BaseLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, products=None, **kwargs):
        self.products = products
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "products": self.products}

    @property
    def empty_form(self):
        return self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            products=self.products,
            renderer=self.renderer,
        )

    def fill_prices(self, currency: str) -> None:
        """A chosen product with no price typed shows its list price, as the service
        would use it (when the order is in the product's currency)."""
        for form in self.forms:
            data = getattr(form, "cleaned_data", {})
            product = data.get("product")
            if product is not None and product.currency == currency and not data.get("unit_price"):
                form.data = form.data.copy()
                form.data[form.add_prefix("unit_price")] = f"{product.list_price}"
                data["unit_price"] = f"{product.list_price}"

    def line_inputs(self) -> list[LineInput]:
        return [form.line_input() for form in self.forms if not form.is_blank()]

    def line_indexes(self) -> list[int]:
        """Which form each line of `line_inputs()` came from (errors go back there)."""
        return [index for index, form in enumerate(self.forms) if not form.is_blank()]


OrderLineFormSet = forms.formset_factory(
    OrderLineForm, formset=BaseLineFormSet, extra=0, max_num=200, absolute_max=200
)


def lines_data_edit(data: QueryDict, *, add: bool = False, remove: int | None = None) -> QueryDict:
    """The posted order form with one more empty line, or one line fewer, for the
    "Add line" and "Remove" buttons (which re-render the form without saving)."""
    prefix = LINES_PREFIX
    try:
        count = int(data.get(f"{prefix}-TOTAL_FORMS", "0"))
    except ValueError:
        count = 0
    count = max(0, min(count, 200))
    lines = [
        {name: data.get(f"{prefix}-{index}-{name}", "") for name in LINE_FIELDS}
        for index in range(count)
    ]
    if remove is not None and 0 <= remove < len(lines):
        del lines[remove]
    if add and len(lines) < 200:
        lines.append(dict.fromkeys(LINE_FIELDS, ""))
    edited = data.copy()
    for key in [k for k in edited if k.startswith(f"{prefix}-")]:
        del edited[key]
    edited[f"{prefix}-TOTAL_FORMS"] = str(len(lines))
    edited[f"{prefix}-INITIAL_FORMS"] = "0"
    for index, line in enumerate(lines):
        for name, value in line.items():
            edited[f"{prefix}-{index}-{name}"] = value
    return edited


def lines_initial(order) -> list[dict]:
    return [
        {
            "product": line.product_id,
            # With a product, only a description of one's own is shown.
            "description": ""
            if line.product and line.description == line.product.name
            else line.description,
            "quantity": f"{line.quantity.normalize():f}",
            "unit_price": f"{line.unit_price.normalize():f}",
            "discount_percent": f"{line.discount_percent.normalize():f}"
            if line.discount_percent
            else "",
        }
        for line in order.lines.all()
    ]


class RefundForm(forms.Form):
    amount = forms.CharField(label=_("Amount"), max_length=30)
    reason = forms.CharField(label=_("Reason"), max_length=500)


# --- the pipeline ------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class OpportunityForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=250)
    amount = forms.CharField(label=_("Amount (CNY)"), max_length=30)
    stage = forms.ChoiceField(label=_("Stage"), choices=[(s, Stage(s).label) for s in OPEN_STAGES])
    probability = forms.IntegerField(
        label=_("Probability %"),
        required=False,
        help_text=_("Empty: the stage's usual probability."),
    )
    expected_close = forms.DateField(label=_("Expected close date"), widget=DateInput())
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    next_step = forms.CharField(label=_("Next step"), max_length=250, required=False)
    competitor = forms.ModelChoiceField(
        label=_("Main competitor"), queryset=Competitor.objects.none(), required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, owners, competitors, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["competitor"].queryset = competitors
        if not creating:
            del self.fields["stage"]  # moves go through the stage buttons

    @staticmethod
    def initial_for(opportunity: Opportunity) -> dict:
        return {
            "title": opportunity.title,
            "amount": opportunity.amount,
            "probability": opportunity.probability,
            "expected_close": opportunity.expected_close,
            "owner": opportunity.owner_id,
            "next_step": opportunity.next_step,
            "competitor": opportunity.competitor_id,
            "version": opportunity.version,
        }

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class LostForm(forms.Form):
    lost_reason = forms.ChoiceField(
        label=_("Why was it lost?"), choices=[("", "—"), *LostReason.choices]
    )
    competitor = forms.ModelChoiceField(
        label=_("Lost to"), queryset=Competitor.objects.none(), required=False
    )
    lost_notes = forms.CharField(
        label=_("What happened"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, competitors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["competitor"].queryset = competitors


class CompetitorForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("competitor", "Name"), max_length=150)
    website = forms.CharField(label=_("Website"), max_length=250, required=False)
    price_position = forms.ChoiceField(
        label=_("Price position"), choices=[("", "—"), *PricePosition.choices], required=False
    )
    strengths = forms.CharField(
        label=_("Strengths"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    weaknesses = forms.CharField(
        label=_("Weaknesses"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(
        label=pgettext_lazy("competitor", "Active"), required=False, initial=True
    )

    @staticmethod
    def initial_for(competitor: Competitor) -> dict:
        return {name: getattr(competitor, name) for name in COMPETITOR_FIELDS}


class ContractForm(forms.Form):
    number = forms.CharField(
        label=_("Contract number"),
        max_length=60,
        required=False,
        help_text=_("Empty: Kehu numbers it (HT…)."),
    )
    title = forms.CharField(label=_("Title"), max_length=250)
    kind = forms.ChoiceField(label=_("Kind"), choices=ContractKind.choices)
    start_date = forms.DateField(label=_("Start date"), widget=DateInput())
    end_date = forms.DateField(label=_("End date"), widget=DateInput(), required=False)
    amount = forms.CharField(label=_("Amount (CNY)"), max_length=30, required=False)
    signed_on = forms.DateField(label=_("Signed on"), widget=DateInput(), required=False)
    renewal_notice_days = forms.IntegerField(
        label=_("Renewal reminder (days before the end)"), required=False, initial=30
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    opportunity = forms.ModelChoiceField(
        label=_("Opportunity"), queryset=Opportunity.objects.none(), required=False
    )
    signed_file = forms.FileField(
        label=_("Signed file"),
        required=False,
        help_text=_("PDF, a JPEG or PNG scan, or a Word document."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.docx"}),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, owners, opportunities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["opportunity"].queryset = opportunities

    @staticmethod
    def initial_for(contract) -> dict:
        initial = {name: getattr(contract, name) for name in CONTRACT_FIELDS}
        initial.update(owner=contract.owner_id, opportunity=contract.opportunity_id)
        return {**initial, "version": contract.version}

    def service_data(self) -> dict:
        skip = {"version", "signed_file"}
        return {k: v for k, v in self.cleaned_data.items() if k not in skip}
