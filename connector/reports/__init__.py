"""SLA reports per customer and period (`connector report`, the status page's report links):
built from the ticket ledger, written as CSV, JSON, an HTML page or a PDF of that page."""

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

# the report's templates (HTML page, SVG chart): every value escaped
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def short_moment(iso: str | None) -> str:
    """An ISO 8601 moment of the report as a table shows it: "2026-02-02 10:00" (zone in the heading)."""
    return "" if not iso else iso[:16].replace("T", " ")


TEMPLATES.filters["short"] = short_moment
