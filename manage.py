#!/usr/bin/env python
"""Django's command-line utility for Kehu CRM."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A configuration mistake deserves one sentence, not a traceback.
        sys.exit(f"Kehu CRM cannot start: {exc}")
    except OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        sys.exit(
            f"Kehu CRM cannot reach PostgreSQL ({reason}). Start it (`make run` does), "
            "or point DATABASE_URL at a running server."
        )


if __name__ == "__main__":
    main()
