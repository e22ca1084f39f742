"""A write-back plan -> the body of one `PUT /REST/2.0/ticket/:id`, and how to tell it worked.

RT 5.0.3 facts (tests/fixtures/rt5/api/README.md):
- `Due` must be `YYYY-MM-DD HH:MM:SS` in UTC: an ISO string answers 200 with a success message,
  is stored literally and reads back as unset; clearing is `1970-01-01 00:00:00` (null is ignored).
- A single-value custom field is cleared with null, never "" (which adds an empty value); the
  connector writes "-" for an emptied one, as its readers treat it as empty.
- The answer is always 200 with human messages, successes and failures alike (an invalid value is
  one message among others, and the rest is applied): so the write is checked by reading the
  ticket back, and any field that does not read back as written fails the event, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.core.errors import PlatformRejected
from connector.core.ticket import Carried, Ticket
from connector.platforms.rt5.reading import EMPTY

CLEAR_DUE = "1970-01-01 00:00:00"


def rt_due(moment: datetime | None) -> str:
    """A moment as RT's `Due` takes it: UTC, `YYYY-MM-DD HH:MM:SS` (whole seconds)."""
    if moment is None:
        return CLEAR_DUE
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def field_text(moment: datetime | None) -> str:
    """A due moment as the text custom field holds it: ISO 8601 with the offset it was computed
    in (the vendor's zone), whole seconds; "-" when there is none."""
    return moment.replace(microsecond=0).isoformat() if moment else EMPTY


def put_body(
    ticket: Ticket, desired: Carried, changed: frozenset[str], fields: Mapping[str, str], owner: str | None
) -> dict[str, Any]:
    """The members of the one PUT that writes the changed fields (empty: nothing to write);
    `owner` is the RT user name of the dedicated engineer, when one is to be assigned."""
    body: dict[str, Any] = {}
    custom: dict[str, str] = {}
    if "resolution_due" in changed:
        body["Due"] = rt_due(desired.resolution_due)
    if "tier" in changed:
        custom[fields.get("tier", "tier")] = desired.tier or EMPTY
    if "first_response_due" in changed:
        custom[fields.get("first_response_due", "first_response_due")] = field_text(desired.first_response_due)
    if "flags" in changed:
        custom[fields.get("flags", "flags")] = ",".join(sorted(desired.flags)) or EMPTY
    if custom:
        body["CustomFields"] = custom
    if owner:
        body["Owner"] = owner
    return body


def check_written(body: Mapping[str, Any], after: Mapping[str, Any], messages: Any, ticket_id: str) -> None:
    """Raise naming every field of `body` that the ticket read back after the PUT does not hold,
    with RT's own messages (it answers 200 even when it refused a value)."""
    wrong = []
    if "Due" in body:
        due = str(after.get("Due") or "")
        want = body["Due"].replace(" ", "T") + "Z"
        if due != want and not (body["Due"] == CLEAR_DUE and due.startswith("1970-01-01")):
            wrong.append(f"Due (sent {body['Due']!r}, reads {due!r})")
    values = {
        str(cf.get("name")): cf.get("values") or [] for cf in after.get("CustomFields") or [] if isinstance(cf, Mapping)
    }
    for name, value in (body.get("CustomFields") or {}).items():
        if name not in values:
            wrong.append(
                f"custom field {name!r} (not applied to the ticket's queue: create it, see webhooks/rt5/README.md)"
            )
        elif value not in values[name]:
            wrong.append(f"custom field {name!r} (sent {value!r}, reads {values[name]!r})")
    if "Owner" in body and str((after.get("Owner") or {}).get("id")) != body["Owner"]:
        wrong.append(f"Owner (sent {body['Owner']!r}, reads {(after.get('Owner') or {}).get('id')!r})")
    if wrong:
        said = "; ".join(str(m) for m in messages) if isinstance(messages, list) and messages else "no message"
        raise PlatformRejected(f"RT did not store {', '.join(wrong)} on ticket {ticket_id}: RT said: {said}")
