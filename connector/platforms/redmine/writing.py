"""A write-back plan -> the body of one `PUT /issues/N.json`, and the check that the issue reads
back as written. Pure.

- The connector's custom fields (text): the tier code; the first-response and resolution due
  moments as ISO 8601 in `options.zone` (the vendor's, `2026-12-02T12:52:12+03:00`: agents read
  local time, machines an unambiguous instant; `""` when not regulated); the flags, comma separated.
- `due_date` (Redmine's own, a day only) is the resolution due's day in `options.zone`. Redmine
  refuses a due date before the issue's start date (422, and the whole PUT with it), which a
  start date moved into the future can cause: then `due_date` is cleared instead (a stale day
  would mislead), the precise moment stays in its custom field, and the adapter logs why.
- The internal note: `notes` with `private_notes: true`, in the same PUT (Redmine splits a
  private note with changes into two journals; the plugin sends nothing for the connector's own).
- The dedicated engineer: `assigned_to_id`, the engineer's Redmine user found by e-mail.

Redmine answers 204 to ids it ignores (an unknown custom field, one not enabled for the issue's
project or tracker) and turns a private note public when its author may not make notes private.
So what was written is read back, and any difference is an error, not a success.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from connector.core.ticket import WriteBack
from connector.platforms.redmine.options import WRITTEN, field_ids
from connector.platforms.redmine.reading import RedmineTicket, custom_values


def moment_text(moment: datetime | None, zone: tzinfo) -> str:
    """A due moment as its text field holds it (`""` clears it)."""
    return moment.astimezone(zone).isoformat() if moment is not None else ""


def due_day(moment: datetime | None, zone: tzinfo) -> str | None:
    """The day `due_date` gets for a due moment (None clears it)."""
    return moment.astimezone(zone).date().isoformat() if moment is not None else None


@dataclass
class Update:
    """One PUT: its `issue` members, and what must read back afterwards."""

    issue: dict[str, Any] = field(default_factory=dict)
    fields: dict[int, str] = field(default_factory=dict)  # custom field id -> value written
    names: dict[int, str] = field(default_factory=dict)  # custom field id -> our name
    warnings: list[str] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body of the PUT."""
        issue = dict(self.issue)
        if self.fields:
            issue["custom_fields"] = [{"id": fid, "value": value} for fid, value in self.fields.items()]
        return {"issue": issue}

    def __bool__(self) -> bool:
        """Whether there is anything to send."""
        return bool(self.issue or self.fields)


def field_value(name: str, plan: WriteBack, zone: tzinfo) -> str:
    """What one of the connector's custom fields should hold."""
    desired = plan.desired
    if name == "tier":
        return desired.tier or ""
    if name == "flags":
        return ",".join(sorted(desired.flags))
    return moment_text(getattr(desired, name), zone)


def update(
    ticket: RedmineTicket, plan: WriteBack, fields: Mapping[str, str], zone: tzinfo, assignee_id: int | None
) -> Update:
    """The PUT for the plan's changes (empty when nothing is to be sent). `assignee_id` is the
    dedicated engineer's user id (None: not found, so not assigned)."""
    ids = field_ids(fields, WRITTEN)
    out = Update(names={fid: name for name, fid in ids.items()})
    for name in WRITTEN:
        if name in plan.changed and name in ids:
            value = field_value(name, plan, zone)
            if (ticket.values.get(ids[name]) or "") != value:
                out.fields[ids[name]] = value
    if "resolution_due" in plan.changed:
        day = due_day(plan.desired.resolution_due, zone)
        if day and ticket.start_date and date.fromisoformat(day) < ticket.start_date:
            out.warnings.append(
                f"the resolution is due on {day}, before the issue's start date "
                f"{ticket.start_date}, which Redmine refuses: due_date is cleared "
                "(the due moment is in the resolution_due field)"
            )
            day = None
        if day != (ticket.due_date or None):
            out.issue["due_date"] = day
    if "assignee" in plan.changed and assignee_id is not None and assignee_id != ticket.assignee_id:
        out.issue["assigned_to_id"] = assignee_id
    if plan.note:
        out.issue["notes"] = plan.note
        out.issue["private_notes"] = True
    return out


def note_problems(journals: Sequence[Mapping[str, Any]], note: str, after_id: int) -> list[str]:
    """Whether the note written is on the issue (a journal after `after_id`) and private."""
    mine = [j for j in journals if int(j.get("id") or 0) > after_id and j.get("notes") == note]
    if not mine:
        return ["the internal note is not on the issue"]
    if max(mine, key=lambda j: int(j.get("id") or 0)).get("private_notes") is not True:
        return [
            "the internal note was saved PUBLIC (visible to the customer): the connector's user may "
            "not make notes private; make it an administrator"
        ]
    return []


def read_back_problems(after: Mapping[str, Any], sent: Update, after_journal: int) -> list[str]:
    """How the issue as read after the PUT differs from what was sent (empty: as written)."""
    problems = []
    values = custom_values(after)
    for fid, value in sent.fields.items():
        name = f"{sent.names.get(fid, 'custom field')} (custom field {fid})"
        if fid not in values:
            problems.append(f"{name} is not enabled for this issue's project and tracker, so Redmine ignored it")
        elif (values[fid] or "") != value:
            problems.append(f"{name} reads back {values[fid]!r}, not {value!r}")
    if "due_date" in sent.issue and (after.get("due_date") or None) != sent.issue["due_date"]:
        problems.append(f"due_date reads back {after.get('due_date')!r}, not {sent.issue['due_date']!r}")
    if "assigned_to_id" in sent.issue and (after.get("assigned_to") or {}).get("id") != sent.issue["assigned_to_id"]:
        problems.append(
            f"the assignee reads back {(after.get('assigned_to') or {}).get('id')!r}, "
            f"not user {sent.issue['assigned_to_id']}"
        )
    if "notes" in sent.issue:
        problems += note_problems(after.get("journals") or [], sent.issue["notes"], after_journal)
    return problems
