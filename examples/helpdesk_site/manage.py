"""`python examples/helpdesk_site/manage.py ...`, or `python -m helpdesk_site.manage ...` with
examples/ on PYTHONPATH. HELPDESK_SITE_DIR names the folder of its database."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    if not __package__:  # run as a script: import the project from examples/, not from this folder
        sys.path[0] = str(Path(__file__).resolve().parent.parent)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
