import datetime

from django.core.management.base import BaseCommand, CommandError

from feedback.loyalty import loyalty_nightly


class Command(BaseCommand):
    help = (
        "Points for orders not yet counted, expiry of old points and the day's birthday "
        "coupons (the nightly loyalty run). Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="the day to run for (YYYY-MM-DD); today by default")

    def handle(self, *args, **options):
        as_of = None
        if options["as_of"]:
            try:
                as_of = datetime.date.fromisoformat(options["as_of"])
            except ValueError as exc:
                raise CommandError(f"--as-of: {exc}") from None
        counts = loyalty_nightly(as_of=as_of)
        self.stdout.write(" ".join(f"{name}={value}" for name, value in counts.items()))
