import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from crm.models import User
from crm.selectors import command_actor
from crm.sheets.reader import sheet_open
from crm.sheets.sheet import SheetError
from customers.imports import (
    Mode,
    Options,
    counts_line,
    customers_import,
    layout_detect,
    result_files_write,
)
from customers.imports.clean import value_key
from customers.imports.values import (
    Suggester,
    choice_columns,
    column_label,
    decisions_from_file,
    decisions_suggested,
    mappings_remember,
    sheet_analyse,
)
from customers.sources import SourceLookup


class Command(BaseCommand):
    help = (
        "Import a customer register (.xlsx or .csv, UTF-8 or GBK). Prints the counts; "
        "rejected rows go to FILE.rejected.xlsx with the reason for each, rows imported "
        "with warnings to FILE.warnings.xlsx. The values of choice columns (gender, "
        "source, industry, kind, key account, consent) are mapped by --values FILE.json, "
        "else by Kehu's suggestions; the values left unmapped are listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--owner", help="username who owns the new customers (default: the shared pool)"
        )
        parser.add_argument("--as", dest="actor", help="import as this user (default: an admin)")
        parser.add_argument("--mode", choices=[Mode.FILL, Mode.OVERWRITE], default=Mode.FILL)
        parser.add_argument("--sheet", default="", help="the sheet to read (default: the first)")
        parser.add_argument("--lang", default="zh-hans", help="language of the messages")
        parser.add_argument(
            "--values",
            help='value mapping, JSON: {"source": {"抖音": "+new", "百度": "advertising"}, '
            '"gender": {"男生": "male"}}; "" leaves a value empty',
        )
        parser.add_argument(
            "--values-out",
            help="write every value of the choice columns with Kehu's suggestion to this "
            "JSON file (to edit and pass as --values), and import nothing",
        )

    def handle(self, *args, file, dry_run, owner, actor, mode, sheet, lang, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        importer = command_actor(actor)
        if importer is None:
            raise CommandError("No active user to import as; pass --as USERNAME.")
        owner_user = None
        if owner:
            owner_user = User.objects.filter(is_active=True, username=owner).first()
            if owner_user is None:
                raise CommandError(f"No active user named {owner}.")
        with translation.override(lang), path.open("rb") as upload_file:
            try:
                upload = sheet_open(upload_file, name=path.name, server_file=True)
                layout = layout_detect(upload, sheet_name=sheet)
                values = sheet_analyse(upload, layout)["values"]
            except SheetError as exc:
                raise CommandError(f"{path.name}: {exc.message}") from None
            sources = SourceLookup()
            if options["values_out"]:
                self._values_write(Path(options["values_out"]), layout, values, sources)
                return
            decisions, unmapped = decisions_suggested(layout, values, sources)
            chosen: dict = {}
            if options["values"]:
                chosen = self._values_read(Path(options["values"]), sources)
                for key, mapping in chosen.items():
                    decisions.setdefault(key, {}).update(mapping)
                unmapped = [u for u in unmapped if value_key(u[1]) not in chosen.get(u[0], {})]
            try:
                result = customers_import(
                    actor=importer,
                    sheet=upload,
                    layout=layout,
                    options=Options(
                        owner=owner_user, pool=owner_user is None, mode=mode, values=decisions
                    ),
                    dry_run=dry_run,
                    source=path.name,
                )
            except SheetError as exc:
                raise CommandError(f"{path.name}: {exc.message}") from None
            if not dry_run and chosen:
                texts = {
                    key: {value_key(text): text for text, __ in values.get(str(index)) or []}
                    for index, key in choice_columns(layout)
                }
                mappings_remember(
                    actor=importer, decisions=chosen, originals=texts, sources=SourceLookup()
                )
            for out in result_files_write(path, result):
                kind = "Warnings" if out.name.endswith(".warnings.xlsx") else "Rejected rows"
                self.stdout.write(f"{kind}: {out}")
            if unmapped:
                self.stdout.write(
                    "Unmapped values (left empty, the text kept in the import remarks):"
                )
                for key, text, count in unmapped:
                    self.stdout.write(f"  {column_label(key)}: {text} ×{count}")
            prefix = "[dry run] " if dry_run else ""
            self.stdout.write(prefix + counts_line(result.counts))

    def _values_read(self, path: Path, sources) -> dict:
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{path}: not a JSON mapping ({exc}).") from None
        if not isinstance(data, dict):
            raise CommandError(f'{path}: not a JSON mapping such as {{"source": {{…}}}}.')
        decisions, problems = decisions_from_file(data, sources)
        if problems:
            raise CommandError(f"{path}: " + " ".join(problems))
        return decisions

    def _values_write(self, path: Path, layout, values, sources) -> None:
        columns = choice_columns(layout)
        suggester = Suggester(sources, {key for __, key in columns})
        out = {}
        for index, key in columns:
            for text, __ in values.get(str(index)) or []:
                out.setdefault(key, {})[text] = suggester.suggest(key, text).target or ""
        path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
        self.stdout.write(f"Values and suggestions: {path}")
