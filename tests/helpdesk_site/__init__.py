"""A minimal Django project running a real django-helpdesk 2.6 for the test suite."""
