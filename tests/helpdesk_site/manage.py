"""`python -m tests.helpdesk_site.manage ...` (run from the repository root)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.helpdesk_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
