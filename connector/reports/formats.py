"""A report as CSV (for spreadsheets), JSON (for machines), an HTML page (for people) or a PDF of
that page (the contract's report the vendor sends). CSV and JSON carry the same fields."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from connector.core.errors import BadInput
from connector.core.report import HOUR, METRICS, Report, ReportLine, Tally
from connector.reports import TEMPLATES
from connector.reports.chart import svg_chart

FORMATS = ("csv", "json", "html", "pdf")
TICKET_FIELDS = (
    "platform",
    "ticket",
    "created_at",
    "requester",
    "customer",
    "product",
    "request_type",
    "tier",
    "contract",
    "first_response_due",
    "first_response_at",
    "first_response",
    "resolution_due",
    "resolved_at",
    "resolution",
    "paused_hours",
    "flags",
)
CUSTOMER_FIELDS = (
    "customer",
    "name",
    "tickets",
    "first_response_met",
    "first_response_missed",
    "first_response_open",
    "first_response_share_met",
    "resolution_met",
    "resolution_missed",
    "resolution_open",
    "resolution_share_met",
    "median_first_response_hours",
)
# values from a platform or the registry: a spreadsheet must not take them for formulas
FROM_OUTSIDE = frozenset(
    {"platform", "ticket", "requester", "customer", "product", "request_type", "contract", "flags", "name"}
)
FORMULA_FIRST = frozenset("=+-@\t\r")


def spreadsheet_safe(value: str) -> str:
    """The value, with a leading apostrophe when a spreadsheet would read it as a formula (the
    literal "-", an outcome without a target, stays as it is)."""
    return "'" + value if value[:1] in FORMULA_FIRST and value != "-" else value


def _moment(zone: Any, absent: str | None = None) -> Callable[[datetime | None], str | None]:
    """ISO 8601 in `zone` to whole seconds; `absent` for an absent moment."""

    def moment(value: datetime | None) -> str | None:
        return absent if value is None else value.astimezone(zone).isoformat(timespec="seconds")

    return moment


def _same(value: Any) -> Any:
    return value


def _ticket_values(
    line: ReportLine,
    moment: Callable[[datetime | None], str | None],
    safe: Callable[[str], str] = _same,
    flags: Callable[[tuple[str, ...]], Any] = list,
    hours: Callable[[float], Any] = lambda h: round(h, 2),
) -> tuple[Any, ...]:
    """The values of TICKET_FIELDS, in order; `safe` applied to those from a platform or the
    registry, `flags` to the flag codes, `hours` to the paused hours (one pass per row: a report
    may have 100,000)."""
    e = line.entry
    return (
        safe(e.platform),
        safe(e.ticket_id),
        moment(e.created_at),
        safe(e.requester_email or ""),
        safe(e.customer_id or ""),
        safe(e.product or ""),
        safe(e.request_type),
        e.tier,
        safe(e.contract or ""),
        moment(e.first_response_due),
        moment(e.first_response_at),
        line.first_response,
        moment(e.resolution_due),
        moment(e.resolved_at),
        line.resolution,
        hours(e.resolution_paused / HOUR),
        flags(e.flags),
    )


def ticket_fields(line: ReportLine, zone: Any) -> dict[str, Any]:
    """A ticket's report fields (moments ISO 8601 in the vendor's zone, whole seconds; None if absent)."""
    return dict(zip(TICKET_FIELDS, _ticket_values(line, _moment(zone)), strict=True))


def _csv_flags(flags: tuple[str, ...]) -> str:
    return spreadsheet_safe(";".join(flags))


def customer_fields(customer_id: str, name: str, tally: Tally) -> dict[str, Any]:
    """One row of the every-customer report."""
    doc = tally.as_json()
    row: dict[str, Any] = {"customer": customer_id, "name": name, "tickets": tally.tickets}
    for metric in METRICS:
        row.update({f"{metric}_{k}": doc[metric][k] for k in ("met", "missed", "open", "share_met")})
    row["median_first_response_hours"] = doc["median_first_response_hours"]
    return row


def _cell(name: str, value: Any) -> str:
    """A CSV cell: empty for None, `;`-joined lists, 2 decimals for hours, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(value)
    elif isinstance(value, float):
        value = f"{value:.2f}" if name.endswith("hours") else f"{value:.4f}"
    else:
        value = str(value)
    return spreadsheet_safe(value) if name in FROM_OUTSIDE else value


def to_csv(report: Report) -> bytes:
    """UTF-8 CSV with a header row: one row per ticket (or per customer, for every customer)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    if report.customer_id is None:
        writer.writerow(CUSTOMER_FIELDS)
        rows = (customer_fields(*c) for c in report.customers)
        writer.writerows([_cell(k, row[k]) for k in CUSTOMER_FIELDS] for row in rows)
    else:
        writer.writerow(TICKET_FIELDS)
        moment = _moment(report.zone, "")
        writer.writerows(
            _ticket_values(line, moment, spreadsheet_safe, _csv_flags, "{:.2f}".format) for line in report.lines
        )
    return out.getvalue().encode("utf-8")


def as_json(report: Report) -> dict[str, Any]:
    """{"customer", "from", "to", "tickets": [...], "summary": {...}} ("customers" instead of
    "tickets" for every customer, whose "customer" is null)."""
    doc: dict[str, Any] = {
        "customer": report.customer_id,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
    }
    if report.customer_id is None:
        doc["customers"] = [customer_fields(*c) for c in report.customers]
    else:
        doc["tickets"] = [ticket_fields(line, report.zone) for line in report.lines]
    doc["summary"] = {
        "customer_name": report.customer_name,
        "generated_at": report.generated_at.astimezone(report.zone).isoformat(timespec="seconds"),
        **report.summary.as_json(),
    }
    return doc


def to_json(report: Report) -> bytes:
    """The JSON document, UTF-8."""
    return json.dumps(as_json(report), ensure_ascii=False, indent=2).encode("utf-8")


def to_html(report: Report, links: Callable[[str], str] | None = None) -> bytes:
    """A self-contained page: the summary, the chart (inline SVG), then the table. `links` maps a
    format to the URL of the same report in it (the status page's download links)."""
    rows = [ticket_fields(line, report.zone) for line in report.lines]
    page = TEMPLATES.get_template("report.html").render(
        report=report,
        rows=rows,
        customers=[customer_fields(*c) for c in report.customers],
        chart=svg_chart(report.chart),
        links=links,
        fmt_share=_share,
        fmt_hours=_hours,
        generated=report.generated_at.astimezone(report.zone).strftime("%Y-%m-%d %H:%M %Z"),
    )
    return page.encode("utf-8")


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """WeasyPrint's URL fetcher: the page is self-contained, so nothing is ever loaded."""
    raise ValueError(f"the report loads nothing from outside ({url[:60]})")


def to_pdf(report: Report) -> bytes:
    """The HTML page as a PDF (WeasyPrint; needs the pango libraries)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: pango is missing
        raise BadInput(f"PDF needs WeasyPrint and the pango libraries: {exc}") from None
    pdf: bytes = HTML(string=to_html(report).decode("utf-8"), url_fetcher=_no_fetching).write_pdf()
    return pdf


def render(report: Report, fmt: str) -> bytes:
    """The report in `fmt` (one of FORMATS)."""
    writers = {"csv": to_csv, "json": to_json, "html": to_html, "pdf": to_pdf}
    if fmt not in writers:
        raise BadInput(f"unknown format {fmt!r} (one of: {', '.join(FORMATS)})")
    return writers[fmt](report)
