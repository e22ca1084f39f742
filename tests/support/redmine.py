"""A throwaway Redmine 5 on loopback, for tests (Debian's redmine + redmine-sqlite + ruby-webrick;
nothing is downloaded: `bundle exec` resolves against the gems Debian installed).

    rm = start_redmine(tmp_path, "http://127.0.0.1:8080/webhooks/redmine", "whsec_...")
    try:
        rm.api("POST", "/issues.json", {"issue": {"project_id": "support", "subject": "Hi"}}, expect=201)
    finally:
        rm.stop()

How it is laid out (nothing of the system's Redmine is touched; /usr/share/redmine is only read):

- Debian's Redmine finds its app in Rails.root (/usr/share/redmine) and each instance's config,
  database, files, log and tmp in `Rails.root/instances/$REDMINE_INSTANCE`
  (lib/redmine/multi_tenancy.rb, config/multitenancy_environment.rb); plugins live in
  `Rails.root/plugins` and are shared by all instances. So a private Rails root is built once in
  `<workdir>/.redmine-cache/<key>/root`: copies of app/, lib/, config/, bin/ (copies, not symlinks:
  a symlinked lib/ gets its files loaded twice), symlinks to db/, public/, extra/, a Gemfile.local
  that adds webrick (and sqlite3), and our plugin copied into plugins/ as webhooks/redmine/README.md
  tells an admin. The key hashes the plugin, the setup script and Redmine's own files, so a
  changed plugin builds a new cache.
- The same build makes a template database: migrated, then `webhooks/redmine/connector_setup.rb`
  (the script the README gives admins: default data, REST API on, the connector user and its API
  key, projects, custom fields, KB role and group), then the admin's password and API key. It runs
  as one `rails runner` (the migration in the same boot as the setup: one boot less than
  `rake db:migrate` + runner; column information is reset after migrating). Once per workdir.
- Each run is its own instance `run-<hex>`: `<workdir>/redmine/run-<hex>/` holds its config
  (database.yml, secret_key.txt), a copy of the template database, files/, log/, tmp/; the cache
  root's `instances/run-<hex>` is a symlink to it while it runs. `rails server` (WEBrick) on
  127.0.0.1 and a free port, then the plugin's settings (connector URL, secret, connector login)
  are saved through its settings page as an admin would (login form, CSRF token, POST).
  Measured here (2 cores, shared with other test runs): 4.2-6 s per start with the cache built
  (server boot 3.9-6 s, settings page 0.3-0.6 s); the first start in a workdir adds the cache
  build, 8.5-15 s. Two starts in parallel in one workdir: about 9 s each. stop(): 1-2 s.

No pytest here: callers skip or fail on `redmine_available()` / `RedmineNotInstalled`. Every wait is
bounded. `stop()` ends the server's process group; an instance the caller forgot is stopped at
interpreter exit, and the server also stops when this process dies (it watches a pipe from us).
"""

from __future__ import annotations

import atexit
import fcntl
import glob
import hashlib
import html
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "webhooks" / "redmine"  # what a Redmine admin installs (README.md there)
PLUGIN = SHIPPED / "connector_webhooks"
SETUP_SCRIPT = SHIPPED / "connector_setup.rb"

REDMINE_DIR = Path("/usr/share/redmine")
DEBIAN_PACKAGES = "redmine redmine-sqlite ruby-webrick"
CACHE_FORMAT = "1"  # bump when the cache layout or the bootstrap below changes

BUILD_TIMEOUT = 300.0  # seconds for the one-off cache build (about 8 s here)
START_TIMEOUT = 90.0  # seconds for the server to answer once started (about 7 s here)
STOP_TIMEOUT = 10.0  # seconds for the server to exit after SIGTERM, before SIGKILL
HTTP_TIMEOUT = 30.0  # seconds for one HTTP call to Redmine

# Symlinked into the private root (only read); everything else of Rails.root is copied.
_LINKED = ("db", "public", "extra", "Rakefile", "config.ru")
_COPIED = ("app", "lib", "config", "bin", "Gemfile")

_GEMFILE_LOCAL = """\
# tests/support/redmine.py: the server and the database adapter, from the gems Debian installed
gem 'webrick'
gem 'sqlite3', '~> 1.4.0' unless dependencies.any? { |d| d.name == 'sqlite3' }
"""

# Background jobs (Redmine 5 renders every mail in an ActiveJob) run inline, in the request's own
# thread and database connection: with Rails' default async adapter their threads write to SQLite
# beside the request's and either one can fail with SQLite3::BusyException ("database is locked").
_ADDITIONAL_ENVIRONMENT = """\
# tests/support/redmine.py: jobs (mails) inline, as Redmine's own test environment has them
config.active_job.queue_adapter = :inline
"""

# Fixture-only bootstrap (the admin-facing part is webhooks/redmine/connector_setup.rb).
_BOOTSTRAP_RB = """\
# tests/support/redmine.py: migrate, run the shipped setup script, then the admin's password and key
require 'json'
ActiveRecord::Migration.verbose = false
ActiveRecord::Tasks::DatabaseTasks.migrate
Redmine::Plugin.migrate
ActiveRecord::Base.descendants.each(&:reset_column_information)
load ENV.fetch('CONNECTOR_SETUP_SCRIPT')
admin = User.find_by_login('admin')
admin.password = admin.password_confirmation = ENV.fetch('FIXTURE_ADMIN_PASSWORD')
admin.must_change_passwd = false
admin.save!
connector = User.find_by_login(ENV.fetch('CONNECTOR_LOGIN'))
info = CONNECTOR_SETUP.merge(
  'admin' => {'id' => admin.id, 'login' => admin.login, 'api_key' => admin.api_key},
  'connector_api_key' => connector.api_key
)
File.write(ENV.fetch('FIXTURE_INFO'), JSON.pretty_generate(info))
"""


class RedmineNotInstalled(RuntimeError):
    """Redmine 5 (or a piece of it this module needs) is not installed on this machine."""


class RedmineStartError(RuntimeError):
    """Redmine is installed but could not be set up or started; the message has the log's tail."""


def _gem_installed(name: str) -> bool:
    patterns = [
        f"/usr/share/rubygems-integration/*/specifications/{name}-[0-9]*.gemspec",
        f"/usr/lib/*/rubygems-integration/*/specifications/{name}-[0-9]*.gemspec",
        f"/var/lib/gems/*/specifications/{name}-[0-9]*.gemspec",
        f"/usr/lib/ruby/gems/*/specifications/{name}-[0-9]*.gemspec",
    ]
    return any(glob.glob(p) for p in patterns)


def redmine_missing() -> list[str]:
    """What is missing to run a throwaway Redmine 5 here (empty when everything is there)."""
    missing = []
    for tool in ("ruby", "bundle"):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Debian package redmine pulls it)")
    if not (REDMINE_DIR / "config" / "application.rb").exists():
        missing.append(f"{REDMINE_DIR} (Debian package redmine)")
    else:
        version = _redmine_version()
        if not version.startswith("5."):
            missing.append(f"Redmine 5 (found {version or 'an unknown version'})")
    for gem, package in (("webrick", "ruby-webrick"), ("sqlite3", "redmine-sqlite / ruby-sqlite3")):
        if not _gem_installed(gem):
            missing.append(f"Ruby gem {gem} (Debian package {package})")
    for piece in (PLUGIN / "init.rb", SETUP_SCRIPT):
        if not piece.exists():
            missing.append(f"{piece.relative_to(ROOT)} (this repository)")
    return missing


def redmine_available() -> bool:
    """True when a throwaway Redmine 5 can be started here."""
    return not redmine_missing()


def _redmine_version() -> str:
    try:
        text = (REDMINE_DIR / "lib" / "redmine" / "version.rb").read_text()
    except OSError:
        return ""
    parts = [re.search(rf"{k}\s*=\s*(\d+)", text) for k in ("MAJOR", "MINOR", "TINY")]
    return ".".join(m.group(1) for m in parts if m)


@dataclass(eq=False)
class Redmine:
    """A running throwaway Redmine 5."""

    base_url: str  # http://127.0.0.1:<port>
    api_key: str  # of connector_login (an administrator): header X-Redmine-API-Key
    admin_api_key: str  # of Redmine's own "admin"
    admin_password: str  # of "admin", for the web UI (settings pages)
    log_path: Path  # Rails' production.log (the plugin's delivery lines land here)
    connector_login: str
    instance: str  # REDMINE_INSTANCE of this run
    instance_dir: Path  # its config, database, files, log, tmp
    port: int
    info: dict  # ids from the setup: projects, custom_fields, kb_group, kb_role, statuses, ...
    plugin_settings: dict  # as last saved on the plugin's settings page
    started_in: float = 0.0  # seconds from the call to a server that answers, configured
    timings: dict = field(default_factory=dict)
    server_log: Path | None = None
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _link: Path | None = field(default=None, repr=False)

    # --- ids from the setup -----------------------------------------------------------------

    @property
    def custom_fields(self) -> dict[str, int]:
        """Custom field name -> id (tier, first_response_due, resolution_due, flags, product, ...)."""
        return dict(self.info["custom_fields"])

    @property
    def projects(self) -> dict[str, int]:
        return dict(self.info["projects"])

    @property
    def kb_group_id(self) -> int:
        return int(self.info["kb_group"]["id"])

    @property
    def kb_role_id(self) -> int:
        return int(self.info["kb_role"]["id"])

    # --- HTTP helpers (urllib: no extra dependency) -----------------------------------------

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        key: str | None = None,
        headers: dict | None = None,
        timeout: float = HTTP_TIMEOUT,
    ) -> tuple[int, dict, Any]:
        """One REST call (path below base_url, or a full URL); (status, headers, JSON or text).
        Authenticates with the connector's API key unless `key` says otherwise ("" for none)."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        data = None
        hdrs = {"Accept": "application/json", **(headers or {})}
        if payload is not None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            hdrs.setdefault("Content-Type", "application/json")
        api_key = self.api_key if key is None else key
        if api_key:
            hdrs["X-Redmine-API-Key"] = api_key
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, rheaders, body = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            status, rheaders, body = exc.code, dict(exc.headers), exc.read()
        text = body.decode("utf-8", "replace")
        try:
            parsed: Any = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = text
        return status, rheaders, parsed

    def api(self, method: str, path: str, payload: Any = None, expect: int | tuple = (200, 201, 204), **kw) -> Any:
        """A REST call (as the connector unless key=...); its JSON answer (asserting the status)."""
        status, _, body = self.request(method, path, payload, **kw)
        expected = (expect,) if isinstance(expect, int) else expect
        if status not in expected:
            raise AssertionError(f"{method} {path}: HTTP {status} {str(body)[:500]}")
        return body

    def role_id(self, name: str) -> int:
        roles = self.api("GET", "/roles.json", key=self.admin_api_key)["roles"]
        for role in roles:
            if role["name"].lower() == name.lower():
                return int(role["id"])
        raise KeyError(f"no role {name!r}: {[r['name'] for r in roles]}")

    def create_user(
        self,
        login: str,
        *,
        mail: str | None = None,
        firstname: str = "Test",
        lastname: str | None = None,
        admin: bool = False,
        project: str | None = "support",
        role: str = "Developer",
    ) -> dict:
        """A user made through the REST API (as admin), a member of `project` with `role` (None: no
        membership); returns {"id", "login", "mail", "api_key"}."""
        doc = {
            "user": {
                "login": login,
                "firstname": firstname,
                "lastname": lastname or login,
                "mail": mail or f"{login}@example.com",
                "admin": admin,
                "generate_password": True,
                "mail_notification": "none",
            }
        }
        user = self.api("POST", "/users.json", doc, expect=201, key=self.admin_api_key)["user"]
        if project:
            self.api(
                "POST",
                f"/projects/{project}/memberships.json",
                {"membership": {"user_id": user["id"], "role_ids": [self.role_id(role)]}},
                expect=201,
                key=self.admin_api_key,
            )
        full = self.api("GET", f"/users/{user['id']}.json", key=self.admin_api_key)["user"]
        return {"id": full["id"], "login": full["login"], "mail": full["mail"], "api_key": full["api_key"]}

    def web_session(self, login: str = "admin", password: str | None = None) -> _WebSession:
        """A logged-in browser-like session (cookies, CSRF token) for the web UI."""
        s = _WebSession(self.base_url)
        s.login(login, self.admin_password if password is None else password)
        return s

    def configure_plugin(self, **changes: Any) -> dict:
        """Save the plugin's settings on its page (Administration > Plugins > Connector webhooks >
        Configure), as an admin would; keys: connector_url, secret, connector_login, projects,
        timeout. Unnamed keys keep their values. Returns the settings saved."""
        unknown = set(changes) - {"connector_url", "secret", "connector_login", "projects", "timeout"}
        if unknown:
            raise ValueError(f"unknown plugin settings: {sorted(unknown)}")
        settings = {**self.plugin_settings, **{k: str(v) for k, v in changes.items()}}
        s = self.web_session()
        page = s.get("/settings/plugin/connector_webhooks")
        form = {f"settings[{k}]": v for k, v in settings.items()}
        form["authenticity_token"] = _csrf_token(page)
        final_url, page = s.post("/settings/plugin/connector_webhooks", form)
        if "/settings/plugin/connector_webhooks" not in final_url or "Successful update" not in page:
            raise RedmineStartError(f"the plugin's settings page did not save (ended at {final_url}):\n" + page[:2000])
        shown = re.search(r'name="settings\[connector_url\]"[^>]*value="([^"]*)"', page)
        if shown is None or _html_unescape(shown.group(1)) != settings["connector_url"]:
            raise RedmineStartError("the plugin's settings page shows another connector URL after saving")
        self.plugin_settings = settings
        return dict(settings)

    def log_tail(self, chars: int = 4000) -> str:
        parts = []
        for p in (self.log_path, self.server_log):
            if p and p.exists():
                parts.append(f"--- {p.name}\n" + p.read_text(errors="replace")[-chars:])
        return "\n".join(parts)

    # --- lifetime ---------------------------------------------------------------------------

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Stop the server (its whole process group) and unlink the instance. Idempotent; the
        instance folder (database, logs) is left for the caller's temporary folder to remove."""
        proc, self._proc = self._proc, None
        _LIVE.discard(self)
        if proc is not None:
            _stop_group(proc)
        link, self._link = self._link, None
        if link is not None and link.is_symlink():
            link.unlink()


class _WebSession:
    """Cookies + forms against Redmine's web UI (urllib; redirects followed)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _open(self, path: str, data: dict | None = None) -> tuple[str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(f"{self.base_url}{path}", data=body)
        with self.opener.open(req, timeout=HTTP_TIMEOUT) as resp:
            return resp.geturl(), resp.read().decode("utf-8", "replace")

    def get(self, path: str) -> str:
        return self._open(path)[1]

    def post(self, path: str, form: dict) -> tuple[str, str]:
        return self._open(path, form)

    def login(self, login: str, password: str) -> None:
        page = self.get("/login")
        final_url, page = self.post(
            "/login", {"username": login, "password": password, "authenticity_token": _csrf_token(page)}
        )
        if urllib.parse.urlparse(final_url).path == "/login":
            raise RedmineStartError(f"could not log in to the web UI as {login}")


def _csrf_token(page: str) -> str:
    m = re.search(r'name="authenticity_token" value="([^"]+)"', page) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', page
    )
    if m is None:
        raise RedmineStartError("no CSRF token on the page")
    return _html_unescape(m.group(1))


def _html_unescape(text: str) -> str:
    return html.unescape(text)


_LIVE: set = set()
_LIVE_LOCK = threading.Lock()


def _stop_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    try:  # make sure nothing of the group is left (ruby under the watchdog shell)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            os.killpg(proc.pid, 0)
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    if proc.stdin:
        try:
            proc.stdin.close()
        except OSError:
            pass


@atexit.register
def _stop_forgotten() -> None:
    for rm in list(_LIVE):
        rm.stop()


# --- the cache: private Rails root + template database -------------------------------------


def _cache_key(connector_login: str) -> str:
    h = hashlib.sha256()
    h.update(f"format {CACHE_FORMAT}\nlogin {connector_login}\n".encode())
    h.update(_GEMFILE_LOCAL.encode() + _ADDITIONAL_ENVIRONMENT.encode() + _BOOTSTRAP_RB.encode())
    for path in sorted(PLUGIN.rglob("*")) + [SETUP_SCRIPT]:
        if path.is_file():
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    for name in ("lib/redmine/version.rb", "Gemfile", "Gemfile.lock"):
        p = REDMINE_DIR / name
        if p.exists():
            h.update(name.encode() + b"\0" + p.read_bytes())
    try:  # a changed Redmine package builds anew
        h.update(str((REDMINE_DIR / "app").stat().st_mtime_ns).encode())
    except OSError:
        pass
    return h.hexdigest()[:16]


def _base_env(home: Path, instance: str, root: Path) -> dict:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin:/usr/sbin:/sbin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "RAILS_ENV": "production",
        "REDMINE_INSTANCE": instance,
        "BUNDLE_GEMFILE": str(root / "Gemfile"),
        "no_proxy": "127.0.0.1,localhost,::1",
        "NO_PROXY": "127.0.0.1,localhost,::1",
    }


def _write_instance(instance_dir: Path, database: Path) -> None:
    for sub in ("config", "files", "log", "tmp/cache", "tmp/pids", "public/plugin_assets"):
        (instance_dir / sub).mkdir(parents=True, exist_ok=True)
    (instance_dir / "config" / "database.yml").write_text(
        f"production:\n  adapter: sqlite3\n  database: {json.dumps(str(database))}\n  timeout: 5000\n  pool: 10\n"
    )
    key_file = instance_dir / "config" / "secret_key.txt"
    key_file.write_text(secrets.token_hex(64) + "\n")
    key_file.chmod(0o600)


def _build_cache(cache: Path, connector_login: str) -> None:
    """The private Rails root, the plugin installed, and the template database (info.json)."""
    t0 = time.monotonic()
    if cache.exists():
        shutil.rmtree(cache)
    root = cache / "root"
    root.mkdir(parents=True)
    for name in _LINKED:
        (root / name).symlink_to(REDMINE_DIR / name)
    for name in _COPIED:
        src = REDMINE_DIR / name
        if src.is_dir():
            shutil.copytree(src, root / name, symlinks=False)
        else:
            shutil.copyfile(src, root / name)
    (root / "config" / "database.yml").unlink(missing_ok=True)  # Debian's link to the default instance
    (root / "Gemfile.local").write_text(_GEMFILE_LOCAL)
    (root / "config" / "additional_environment.rb").write_text(_ADDITIONAL_ENVIRONMENT)
    (root / "plugins").mkdir()
    shutil.copytree(PLUGIN, root / "plugins" / PLUGIN.name)  # "copy the plugin to plugins/"
    (root / "instances").mkdir()

    template_dir = cache / "template"
    _write_instance(template_dir, template_dir / "redmine.sqlite3")
    (root / "instances" / "template").symlink_to(template_dir)
    bootstrap = cache / "bootstrap.rb"
    bootstrap.write_text(_BOOTSTRAP_RB)
    info_path = cache / "info.json.partial"
    admin_password = secrets.token_urlsafe(12)
    env = _base_env(template_dir, "template", root) | {
        "CONNECTOR_SETUP_SCRIPT": str(SETUP_SCRIPT),
        "CONNECTOR_LOGIN": connector_login,
        "CONNECTOR_API_KEY_FILE": str(template_dir / "connector-api-key"),
        "FIXTURE_ADMIN_PASSWORD": admin_password,
        "FIXTURE_INFO": str(info_path),
        "REDMINE_LANG": "en",
        "VERBOSE": "false",  # the migration's own output
    }
    log = cache / "build.log"
    with log.open("wb") as out:
        try:
            done = subprocess.run(
                ["bundle", "exec", "rails", "runner", "-e", "production", str(bootstrap)],
                cwd=root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=BUILD_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise RedmineStartError(
                f"building the Redmine template took over {BUILD_TIMEOUT:.0f} s:\n"
                + log.read_text(errors="replace")[-3000:]
            ) from None
    if done.returncode != 0 or not info_path.exists():
        raise RedmineStartError(
            f"building the Redmine template failed (code {done.returncode}):\n"
            + log.read_text(errors="replace")[-4000:]
        )
    info = json.loads(info_path.read_text())
    info["admin"]["password"] = admin_password
    info["build_seconds"] = round(time.monotonic() - t0, 3)
    (cache / "info.json").write_text(json.dumps(info, indent=2))
    info_path.unlink()
    (root / "instances" / "template").unlink()


def _ensure_cache(workdir: Path, connector_login: str) -> tuple[Path, dict, bool]:
    base = workdir / ".redmine-cache"
    base.mkdir(parents=True, exist_ok=True)
    key = _cache_key(connector_login)
    cache = base / key
    with open(base / f"{key}.lock", "w") as lock:
        deadline = time.monotonic() + BUILD_TIMEOUT
        while True:  # bounded wait for another process building the same cache
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RedmineStartError(f"another process holds {base / key}.lock too long") from None
                time.sleep(0.2)
        built = False
        if not (cache / "info.json").exists():
            _build_cache(cache, connector_login)
            built = True
        info = json.loads((cache / "info.json").read_text())
    return cache, info, built


# --- start ----------------------------------------------------------------------------------


def start_redmine(
    workdir: Path,
    connector_url: str,
    webhook_secret: str,
    connector_login: str = "connector",
    *,
    projects: str = "",
    webhook_timeout: float = 2.0,
    start_timeout: float = START_TIMEOUT,
) -> Redmine:
    """Set up and start a throwaway Redmine 5 below `workdir` (created if needed; several runs may
    share it, each gets its own instance and database; the template cache is reused).

    `connector_url`, `webhook_secret` (`whsec_...`), `connector_login`: the plugin's settings, saved
    through its settings page; `connector_login` is also the admin user the setup script creates
    (`api_key` is its key), whose own changes send no webhooks. `projects`: the plugin's project
    filter (empty: all). Raises RedmineNotInstalled (naming what is missing) or RedmineStartError
    (with the log's tail)."""
    missing = redmine_missing()
    if missing:
        raise RedmineNotInstalled(
            "Redmine 5 cannot run here; missing: "
            + "; ".join(missing)
            + f" (Debian: apt-get install {DEBIAN_PACKAGES})"
        )
    if not re.fullmatch(r"whsec_[A-Za-z0-9+/=]+", webhook_secret or ""):
        raise ValueError("webhook_secret must look like whsec_<base64>")
    if not re.fullmatch(r"[a-z0-9_.@-]+", connector_login):
        raise ValueError("connector_login: lower-case letters, digits and _.@- only")

    t_start = time.monotonic()
    workdir = Path(workdir).resolve()
    timings: dict = {}
    cache, info, built = _ensure_cache(workdir, connector_login)
    timings["template_build" if built else "template_reused"] = round(time.monotonic() - t_start, 3)
    if built:
        timings["template_build_runner"] = info.get("build_seconds")
    root = cache / "root"

    instance = f"run-{secrets.token_hex(6)}"
    instance_dir = workdir / "redmine" / instance
    database = instance_dir / "redmine.sqlite3"
    _write_instance(instance_dir, database)
    shutil.copyfile(cache / "template" / "redmine.sqlite3", database)
    link = root / "instances" / instance
    link.symlink_to(instance_dir)

    port = free_port()
    server_log = instance_dir / "log" / "server.out"
    rm = Redmine(
        base_url=f"http://127.0.0.1:{port}",
        api_key=info["connector_api_key"],
        admin_api_key=info["admin"]["api_key"],
        admin_password=info["admin"]["password"],
        log_path=instance_dir / "log" / "production.log",
        connector_login=connector_login,
        instance=instance,
        instance_dir=instance_dir,
        port=port,
        info=info,
        plugin_settings={
            "connector_url": "",
            "secret": "",
            "connector_login": connector_login,
            "projects": "",
            "timeout": "2",
        },
        timings=timings,
        server_log=server_log,
        _link=link,
    )

    env = _base_env(instance_dir, instance, root)
    # The server reads a pipe from us and is stopped when it closes (this process died): no orphans.
    watchdog = (
        'exec 3<&0; "$@" </dev/null & child=$!; ( read _ignored <&3; kill -TERM "$child" 2>/dev/null ) & wait "$child"'
    )
    cmd = [
        "sh",
        "-c",
        watchdog,
        "redmine-server",
        "bundle",
        "exec",
        "rails",
        "server",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "-e",
        "production",
        "-P",
        str(instance_dir / "tmp" / "pids" / "server.pid"),
    ]
    t0 = time.monotonic()
    with server_log.open("ab") as out_f:
        rm._proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=out_f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    with _LIVE_LOCK:
        _LIVE.add(rm)
    try:
        _wait_until_up(rm, start_timeout)
        timings["server_up"] = round(time.monotonic() - t0, 3)
        t1 = time.monotonic()
        rm.configure_plugin(
            connector_url=connector_url,
            secret=webhook_secret,
            connector_login=connector_login,
            projects=projects,
            timeout=webhook_timeout,
        )
        timings["plugin_settings"] = round(time.monotonic() - t1, 3)
    except BaseException:
        rm.stop()
        raise
    rm.started_in = round(time.monotonic() - t_start, 3)
    return rm


def _wait_until_up(rm: Redmine, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if rm._proc is None or rm._proc.poll() is not None:
            raise RedmineStartError(
                f"rails server exited early (code {rm._proc.returncode if rm._proc else '?'}):\n" + rm.log_tail()
            )
        try:
            status, _, body = rm.request("GET", "/users/current.json", timeout=5)
            if status == 200 and isinstance(body, dict) and body.get("user", {}).get("login") == rm.connector_login:
                return
            last = f"HTTP {status} {str(body)[:200]}"
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RedmineStartError(
        f"Redmine did not answer GET /users/current.json within {timeout:.0f} s ({last}):\n" + rm.log_tail()
    )
