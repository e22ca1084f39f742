"""`connector install redmine --url URL [--apply]`: check a Redmine against the connector's
settings through its REST API, do what that API allows with --apply, and print exactly what the
admin enters on the plugin's settings page (plugin settings cannot be written over REST).

What is checked (each problem is named; any problem makes the command fail with all of them):
the API key's user is an administrator with the login of `options.connector_login`; every
configured custom field id exists (`GET /custom_fields.json`), is an issue field, and the
written ones are single-value text; with `options.project`, the fields are enabled there and for
its trackers; the statuses (`GET /issue_statuses.json`) and what each maps to; the staff roles
exist; the KB group (`GET /groups/N.json`) and its membership of `options.kb_project`, which must
be private; `options.portal_project` and its role; the webhook secret is a `whsec_` secret.

--apply (what Redmine's REST API can do): enables the configured fields for `options.project`
(`PUT /projects/P.json` `issue_custom_field_ids`), makes `options.kb_project` private, and adds
the KB group to it with `options.kb_role`. Custom fields, roles and the plugin's settings cannot
be made over REST: `webhooks/redmine/connector_setup.rb` makes the first two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput, PlatformRejected
from connector.platforms.client import PlatformClient
from connector.platforms.redmine import api
from connector.platforms.redmine.access import role_id
from connector.platforms.redmine.options import (
    DEFAULT_KB_ROLE,
    READ,
    STOCK_STATUS_NAMES,
    WHERE,
    WRITTEN,
    connector_login,
    field_ids,
    plugin_can_sign,
    staff_roles,
    status_map,
)


class Report:
    """Lines to print and the problems among them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.problems = 0

    def ok(self, text: str) -> None:
        """A check that passed."""
        self.lines.append(f"ok       {text}")

    def did(self, text: str) -> None:
        """A change --apply made."""
        self.lines.append(f"applied  {text}")

    def problem(self, text: str) -> None:
        """Something to fix (the command fails)."""
        self.problems += 1
        self.lines.append(f"PROBLEM  {text}")

    def note(self, text: str) -> None:
        """Information."""
        self.lines.append(f"         {text}")


def _get(client: PlatformClient, path: str) -> Any:
    """A GET; None for a 404 or 403 (no such thing, or not visible)."""
    try:
        return client.call("GET", path)
    except PlatformRejected as exc:
        if exc.status in (403, 404):
            return None
        raise


def check_user(client: PlatformClient, options: Mapping[str, Any], out: Report) -> str:
    """The API key's user: an administrator, with the configured login; its login."""
    me = (client.call("GET", "/users/current.json") or {}).get("user") or {}
    login = str(me.get("login", ""))
    if me.get("admin") is not True:
        out.problem(
            f"the API key's user {login!r} is not an administrator (it manages users, groups and private "
            "notes): Administration > Users > it > Administrator"
        )
    else:
        out.ok(f"the API key's user is {login!r} (id {me.get('id')}), an administrator")
    if login.lower() != connector_login(options):
        out.problem(
            f"options.connector_login is {connector_login(options)!r} but the API key's user is {login!r}: "
            "set connector_login (and the plugin's 'Connector user') to it"
        )
    return login


def check_fields(client: PlatformClient, settings: PlatformSettings, out: Report) -> dict[int, Any]:
    """Every configured custom field id exists as an issue field of a usable format."""
    listed = {f.get("id"): f for f in (client.call("GET", "/custom_fields.json") or {}).get("custom_fields") or []}
    ids = field_ids(settings.fields, WRITTEN + READ)
    for name, fid in ids.items():
        field = listed.get(fid)
        if field is None:
            out.problem(
                f"fields.{name} = {fid}: Redmine has no custom field {fid} (Administration > Custom "
                "fields; the id is the number in the field's address)"
            )
        elif field.get("customized_type") != "issue":
            out.problem(
                f"fields.{name} = {fid}: {field.get('name')!r} is a {field.get('customized_type')} "
                "field, not an issue field"
            )
        elif name in WRITTEN and (field.get("field_format") not in ("string", "text") or field.get("multiple")):
            out.problem(
                f"fields.{name} = {fid}: {field.get('name')!r} is {field.get('field_format')}; the "
                "connector writes text: make it a Text (string) field"
            )
        else:
            trackers = ", ".join(t.get("name", "?") for t in field.get("trackers") or []) or "no tracker"
            out.ok(f"fields.{name} = {fid}: {field.get('name')!r} ({field.get('field_format')}; trackers: {trackers})")
    return {fid: listed[fid] for fid in ids.values() if fid in listed}


def check_project(
    client: PlatformClient, settings: PlatformSettings, fields: Mapping[int, Any], apply: bool, out: Report
) -> None:
    """The support project has the connector's fields, for each of its trackers."""
    project = settings.options.get("project")
    if not project:
        out.note("options.project is not set: the fields' project and trackers are not checked")
        return
    doc = (_get(client, f"/projects/{project}.json?include=issue_custom_fields,trackers") or {}).get("project")
    if doc is None:
        out.problem(f"options.project: Redmine has no project {project!r}")
        return
    enabled = {f.get("id") for f in doc.get("issue_custom_fields") or []}
    missing = sorted(set(fields) - enabled)
    if missing and apply:
        api.write(
            client,
            "PUT",
            f"/projects/{project}.json",
            {"project": {"issue_custom_field_ids": sorted(enabled | set(missing))}},
            f"the custom fields of project {project}",
        )
        out.did(f"custom fields {', '.join(map(str, missing))} enabled for project {project}")
    elif missing:
        out.problem(
            f"project {project}: custom fields {', '.join(map(str, missing))} are not enabled (project > "
            "Settings > Issue tracking > Custom fields, or re-run with --apply)"
        )
    else:
        out.ok(f"project {project} (id {doc.get('id')}) has every configured custom field")
    trackers = {t.get("id"): t.get("name") for t in doc.get("trackers") or []}
    for fid, field in fields.items():
        lacking = sorted(set(trackers) - {t.get("id") for t in field.get("trackers") or []})
        if lacking:
            out.problem(
                f"custom field {field.get('name')!r} ({fid}) is not enabled for the tracker(s) "
                f"{', '.join(str(trackers[t]) for t in lacking)} of project {project}: Redmine ignores it "
                "on those issues (Administration > Custom fields > it > Trackers)"
            )


def check_statuses(client: PlatformClient, options: Mapping[str, Any], out: Report) -> None:
    """Each status of the installation and what it maps to."""
    mapping, custom = status_map(options), {int(k) for k in (options.get("statuses") or {})}
    for status in (client.call("GET", "/issue_statuses.json") or {}).get("issue_statuses") or []:
        sid, name = status.get("id"), status.get("name")
        if sid in mapping:
            out.ok(f"status {sid} {name!r} -> {mapping[sid].value}")
            stock = STOCK_STATUS_NAMES.get(sid)
            if sid not in custom and stock and str(name).lower() != stock.lower():
                out.note(
                    f"(the default for {sid} assumes Redmine's stock {stock!r}; if {name!r} means something "
                    f'else, set options.statuses."{sid}")'
                )
        else:
            out.ok(
                f"status {sid} {name!r} -> {'closed' if status.get('is_closed') else 'open'} (not mapped: "
                "set options.statuses to say more, e.g. pending for a status waiting on the customer)"
            )


def check_roles(client: PlatformClient, options: Mapping[str, Any], out: Report) -> None:
    """The staff roles exist."""
    roles = (client.call("GET", "/roles.json") or {}).get("roles") or []
    ids, names = staff_roles(options)
    found = [r for r in roles if r.get("id") in ids or str(r.get("name", "")).lower() in names]
    known = {r.get("id") for r in found} | {str(r.get("name", "")).lower() for r in found}
    for missing in sorted(str(x) for x in (ids | names) - known):
        out.problem(f"options.staff_roles: Redmine has no role {missing!r}")
    if found:
        out.ok("staff: administrators and members with role " + ", ".join(repr(r.get("name")) for r in found))


def check_kb(client: PlatformClient, options: Mapping[str, Any], apply: bool, out: Report) -> None:
    """The KB group exists, and gives access to the private KB project."""
    gid = options.get("kb_group")
    if not gid:
        out.note("options.kb_group is not set: the connector manages no closed-KB access")
        return
    group = (_get(client, f"/groups/{gid}.json?include=memberships") or {}).get("group")
    if group is None:
        out.problem(f"options.kb_group: Redmine has no group {gid} (Administration > Groups)")
        return
    where = [
        f"{m['project']['name']} as {', '.join(r['name'] for r in m.get('roles') or [])}"
        for m in group.get("memberships") or []
        if m.get("project")
    ]
    out.ok(f"KB group {group.get('name')!r} (id {gid}), a member of: {'; '.join(where) or 'no project'}")
    kb = options.get("kb_project")
    if not kb:
        if not where:
            out.problem(
                "the KB group is a member of no project, so it gives access to nothing: set "
                "options.kb_project and re-run with --apply (or add it on the group's Projects tab)"
            )
        return
    project = (_get(client, f"/projects/{kb}.json") or {}).get("project")
    if project is None:
        out.problem(f"options.kb_project: Redmine has no project {kb!r}")
        return
    if project.get("is_public") and apply:
        api.write(client, "PUT", f"/projects/{kb}.json", {"project": {"is_public": False}}, f"project {kb}")
        out.did(f"project {kb} made private")
    elif project.get("is_public"):
        out.problem(
            f"project {kb} is public: everyone reads the 'closed' KB (project > Settings > Public off, "
            "or re-run with --apply)"
        )
    else:
        out.ok(f"project {kb} is private")
    if any((m.get("project") or {}).get("id") == project.get("id") for m in group.get("memberships") or []):
        return
    role = options.get("kb_role") or DEFAULT_KB_ROLE
    if apply:
        rid = role_id(client, role, f"{WHERE}.options.kb_role")
        api.write(
            client,
            "POST",
            f"/projects/{kb}/memberships.json",
            {"membership": {"user_id": gid, "role_ids": [rid]}},
            f"the KB group's membership of {kb}",
        )
        out.did(f"KB group {gid} added to project {kb} as {role!r}")
    else:
        out.problem(
            f"the KB group is not a member of project {kb}: re-run with --apply (role {role!r}), or add it "
            "on the group's Projects tab"
        )


def check_portal(client: PlatformClient, options: Mapping[str, Any], out: Report) -> None:
    """The portal project and role exist."""
    project = options.get("portal_project")
    if not project:
        return
    if _get(client, f"/projects/{project}.json") is None:
        out.problem(f"options.portal_project: Redmine has no project {project!r}")
        return
    try:
        role_id(client, options.get("portal_role") or "Reporter", f"{WHERE}.options.portal_role")
        out.ok(f"portal users become members of {project} as {options.get('portal_role') or 'Reporter'!r}")
    except BadInput as exc:
        out.problem(str(exc))


def plugin_steps(settings: PlatformSettings, webhook_url: str, login: str) -> list[str]:
    """What the admin enters on the plugin's settings page."""
    project = settings.options.get("project")
    return [
        "On Redmine: Administration > Plugins > Connector webhooks > Configure, enter exactly:",
        f"  Connector URL:          {webhook_url}",
        "  Signing secret:         the connector's webhook secret for Redmine (the whsec_... value of "
        "platforms.redmine.webhook_secret, _env or _file; not printed here)",
        f"  Connector user (login): {login or connector_login(settings.options)}",
        f"  Projects:               {project or '(empty: issues of every project)'}",
        "  Timeout (seconds):      2",
        "and click Apply. Then create an issue: `connector events` lists its issue.created event.",
    ]


def install(client: PlatformClient, settings: PlatformSettings, webhook_url: str, apply: bool) -> list[str]:
    """The report; BadInput carrying it when anything is wrong."""
    out = Report()
    out.lines.append(f"Redmine at {settings.base_url}{' (--apply)' if apply else ''}:")
    if not plugin_can_sign(settings.webhook_secret):
        out.problem(
            "platforms.redmine.webhook_secret is not a whsec_<base64> secret, which the plugin needs: "
            'e.g. echo "whsec_$(openssl rand -base64 32)"'
        )
    login = check_user(client, settings.options, out)
    fields = check_fields(client, settings, out)
    check_project(client, settings, fields, apply, out)
    check_statuses(client, settings.options, out)
    check_roles(client, settings.options, out)
    check_kb(client, settings.options, apply, out)
    check_portal(client, settings.options, out)
    lines = out.lines + [""] + plugin_steps(settings, webhook_url, login)
    if out.problems:
        raise BadInput(f"{out.problems} problem(s) to fix first:\n" + "\n".join(lines))
    return lines
