"""A minimal Django project running a real django-helpdesk 2.6 on loopback: the demo's helpdesk
(`make run`, examples/demo.py) and the instance the test suite runs (tests/helpdesk_fixture.py).

Run its commands with `python examples/helpdesk_site/manage.py ...` (or `python -m
helpdesk_site.manage ...` with examples/ on PYTHONPATH), HELPDESK_SITE_DIR naming its state.
"""
