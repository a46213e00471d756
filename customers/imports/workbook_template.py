"""The register template (客户管理簿模板): what a team fills in before importing.

Built with openpyxl (styles and data validation are its strength; speed does
not matter for one small file): the customer sheet with Chinese and English
header rows, drop-down lists for the choice columns, text-formatted phone and
number columns (so Excel keeps 13800138000 and leading zeros), an example row,
an instructions sheet, and the lists on a hidden sheet.
"""

from __future__ import annotations

import io

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from customers.columns import COLUMNS

TEMPLATE_ROWS = 5_000  # rows prepared with drop-downs and formats
_BOOLEAN_KEYS = {"is_key_account", "marketing_consent"}
_TEXT_KEYS = {"number", "phones", "postcode", "uscc"}
_HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
_REQUIRED = {"name"}


def register_template(language: str) -> bytes:
    with translation.override(language):
        return _build()


def _choices(column) -> list[str]:
    if column.key in _BOOLEAN_KEYS:
        return [translation.pgettext("yes or no", "Yes"), translation.pgettext("yes or no", "No")]
    return [label for value, label in column.choice_list() if value]


def _build() -> bytes:
    wb = Workbook()
    sheet = wb.active
    sheet.title = _("Customers")[:31]
    lists = wb.create_sheet("Lists")
    lists.sheet_state = "hidden"
    guide = wb.create_sheet(_("Instructions")[:31])
    bold = Font(bold=True)
    list_col = 0
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        zh = f"{column.zh}*" if column.key in _REQUIRED else column.zh
        for row, text in ((1, zh), (2, column.en)):
            cell = sheet.cell(row=row, column=index, value=text)
            cell.font = bold
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(horizontal="center")
        sheet.column_dimensions[letter].width = column.width + 2
        example = sheet.cell(row=3, column=index, value=_example(column) or None)
        example.font = Font(italic=True, color="808080")
        cells = f"{letter}3:{letter}{TEMPLATE_ROWS + 2}"
        if column.key in _TEXT_KEYS:
            for row in range(3, TEMPLATE_ROWS + 3):
                sheet.cell(row=row, column=index).number_format = "@"
        if column.key == "birth_date":
            for row in range(3, TEMPLATE_ROWS + 3):
                sheet.cell(row=row, column=index).number_format = "yyyy-mm-dd"
        values = _choices(column)
        if values:
            list_col += 1
            list_letter = get_column_letter(list_col)
            lists.cell(row=1, column=list_col, value=column.en)
            for row, value in enumerate(values, start=2):
                lists.cell(row=row, column=list_col, value=value)
            validation = DataValidation(
                type="list",
                formula1=f"=Lists!${list_letter}$2:${list_letter}${len(values) + 1}",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=str(column.label),
                error=_("Choose a value from the list."),
            )
            validation.add(cells)
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A3"

    guide.column_dimensions["A"].width = 20
    guide.column_dimensions["B"].width = 22
    guide.column_dimensions["C"].width = 60
    guide.column_dimensions["D"].width = 40
    guide.append([_("How to fill in the customer register")])
    guide["A1"].font = Font(bold=True, size=14)
    for line in (
        _("One customer per row, from row 3. Delete the grey example row before importing."),
        _("Keep both header rows; columns may be left empty, moved or removed (Name is required)."),
        _("Other columns are welcome: the import keeps them in the customer's notes."),
        _(
            "Rows with the same phone, e-mail or customer number are one customer: "
            "they are merged, and a customer Kehu already has is updated, not doubled."
        ),
        _("Rows that cannot be imported come back in a workbook with the reason for each."),
    ):
        guide.append([line])
    guide.append([])
    guide.append([_("Column (Chinese)"), _("Column (English)"), _("What to enter"), _("Choices")])
    for cell in guide[guide.max_row]:
        cell.font = bold
    for column in COLUMNS:
        guide.append(
            [
                column.zh,
                column.en,
                str(column.hint) or str(column.label),
                "、".join(_choices(column)),
            ]
        )
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _example(column) -> str:
    if column.key in _BOOLEAN_KEYS:
        return translation.pgettext("yes or no", "No")
    if column.choices is not None and column.example:
        return dict(column.choice_list()).get(column.example, "")  # the code, as its label
    return column.example
