"""`connector entitlement`: which support tier a requester gets, and why."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import click

from connector.cli import short_help
from connector.cli.registry import DATABASE_HELP
from connector.composition import configuration
from connector.config.rules import rulebook
from connector.core.entitlement import CHANNELS, REQUEST_TYPES, TOPICS, EntitlementRequest, resolve
from connector.core.entitlement_json import as_json
from connector.core.errors import BadInput
from connector.platforms import platform_names
from connector.registry.memory import MemoryRegistry
from connector.storage import open_database
from connector.storage.registry import resolve_stored

CONFIG_HELP = "TOML config file (default: $CONNECTOR_CONFIG): its policy, and its database unless --database."


def parse_moment(text: str | None, option: str = "--at", zone: Any = None) -> datetime:
    """An option's moment: ISO 8601 with an offset, or a date (its start in `zone`, the vendor's);
    now when not given."""
    zone = zone or rulebook().vendor_calendar.zone
    if text is None:
        return datetime.now(zone)
    try:
        if len(text) == 10:
            return zone.localize(datetime.combine(date.fromisoformat(text), datetime.min.time()))
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"{option} {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 moment (e.g. 2025-03-03T12:00:00+03:00)"
        ) from None
    if moment.tzinfo is None:
        raise BadInput(f"{option} {text!r} has no UTC offset (e.g. 2025-03-03T12:00:00+03:00)")
    return moment


@click.command("entitlement", short_help=short_help("entitlement"))
@click.option("--email", required=True, help="The requester's e-mail.")
@click.option("--product", metavar="CODE", help="Product code; when absent, the customer's products are tried.")
@click.option("--at", "at", metavar="ISO8601", help="The ticket's creation moment (default: now).")
@click.option("--request-type", type=click.Choice(REQUEST_TYPES), default="error", show_default=True)
@click.option("--topic", type=click.Choice(TOPICS), help="Topic of an information request.")
@click.option("--channel", type=click.Choice(CHANNELS), help="How the request came in.")
@click.option("--platform", type=click.Choice(platform_names()), help="Ticketing platform of --org.")
@click.option("--org", "org_id", metavar="ID", help="The requester's organisation id on the platform.")
@click.option(
    "--registry",
    "registry_path",
    type=click.Path(exists=True),
    help="Resolve against this registry file or CSV folder instead of the database.",
)
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--database", "url", metavar="URL", help=DATABASE_HELP)
@click.option("--json", "as_json_output", is_flag=True, help="Print a JSON object instead of a summary.")
def entitlement_command(
    email: str,
    product: str | None,
    at: str | None,
    request_type: str,
    topic: str | None,
    channel: str | None,
    platform: str | None,
    org_id: str | None,
    registry_path: str | None,
    config_path: str | None,
    url: str | None,
    as_json_output: bool,
) -> None:
    """Resolve the support tier of a request: the customer (contact e-mail, e-mail domain,
    platform organisation), then individual contract > warranty > basic > none, with the
    earliest due moments any applicable tier gives, KB access, flags and the reasons.

    \b
    Examples:
      connector entitlement --email ann@alpha.example --product KOMPAS --at 2026-12-01T12:00:00+03:00 \
          --registry examples/registry.json
      connector entitlement --email olga@omega.example --request-type information --channel messenger \
          --registry examples/registry.json --json
    """
    if "@" not in email:
        raise BadInput(f"--email {email!r} is not an e-mail address")
    config = configuration(config_path)
    rules = rulebook(config.policy)
    zone = rules.vendor_calendar.zone
    request = EntitlementRequest(
        email, parse_moment(at, zone=zone), product, request_type, topic, channel, platform, org_id
    )
    if registry_path:
        result = resolve(request, MemoryRegistry.from_file(registry_path), rules)
    else:
        engine = open_database(url or config.database_url)
        try:
            result = resolve_stored(request, engine, rules)
        finally:
            engine.dispose()
    doc = as_json(result, zone)
    if as_json_output:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        click.echo(summary(doc))


def _target(doc: dict, metric: str) -> str:
    """One target for the summary: hours, due moment and basis."""
    hours = doc[f"{metric}_hours"]
    if hours is None:
        return "not regulated"
    return f"{hours:g} working hours, due {doc[f'{metric}_due']} ({doc[f'{metric}_basis']})"


def summary(doc: dict) -> str:
    """A readable summary of an entitlement JSON object."""
    customer = doc["customer"]
    lines = [
        f"tier:           {doc['tier']}" + (f" (valid until {doc['valid_until']})" if doc["valid_until"] else ""),
        f"customer:       {customer['name']} ({customer['id']}), by {customer['matched_by']}"
        if customer
        else "customer:       unknown",
        f"product:        {doc['product'] or '-'}",
        f"first response: {_target(doc, 'first_response')}",
        f"resolution:     {_target(doc, 'resolution')}",
        f"KB access:      {_kb(doc)}",
    ]
    if doc["contract"]:
        lines.append(
            f"contract:       {doc['contract']}"
            + (f", engineer {doc['dedicated_engineer']}" if doc["dedicated_engineer"] else "")
        )
    lines.append("flags:" + ("" if doc["flag_details"] else "          none"))
    lines += [f"  {f['code']}: {f['explanation']}" for f in doc["flag_details"]]
    lines.append("reasons:")
    lines += [f"  - {reason}" for reason in doc["reasons"]]
    return "\n".join(lines)


def _kb(doc: dict) -> str:
    """The closed KB line: the customer's access (any product or contract) and why."""
    kb = doc.get("customer_kb_access")
    if kb is None:
        return "no (no customer identified)"
    if kb["granted"]:
        return f"yes, up to {kb['until'] or 'open-ended'}: {kb['reason']}"
    return f"no: {kb['reason']}"


COMMANDS = {"entitlement": entitlement_command}
