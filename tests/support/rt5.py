"""A throwaway Request Tracker 5 on loopback, for tests (Debian's request-tracker5 + rt5-standalone
+ rt5-db-sqlite; nothing is downloaded).

    rt = start_rt5(tmp_path, "http://127.0.0.1:8080/webhooks/rt5", "whsec_...")
    try:
        rt.api("POST", "/ticket", {"Queue": "General", "Subject": "Hi", "Requestor": "a@b.example"})
    finally:
        rt.stop()

Everything lives in `workdir`: the site config (RT_SITE_CONFIG / RT_SITE_CONFIG_DIR point RT at it, so
the system's /etc/request-tracker5 is never read), the SQLite database, var/, logs, Mason's cache
and sessions; several instances run side by side. It is set up the way webhooks/rt5/README.md tells
an admin: `rt-setup-database-5 --action init`, the shipped `webhooks/rt5/connector.pm` copied into
RT_SiteConfig.d with this run's URL, secret file and user, `rt-setup-database-5 --action insert
--datafile webhooks/rt5/initialdata` (the webhook scrip, the connector user and its rights, the
custom fields, the closed-KB group and Articles class), then `webhooks/rt5/connector-token.pl` for
the connector user's auth token. Then `rt-server` (Starlet) on 127.0.0.1 and a free port.

No pytest here: callers skip or fail on `rt5_available()` / `RT5NotInstalled` as they see fit.
Every wait is bounded. `stop()` ends the server's whole process group; an instance the caller
forgot is stopped at interpreter exit, and the server also stops when this process dies (it
watches a pipe from us).
"""

from __future__ import annotations

import atexit
import base64
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
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "webhooks" / "rt5"  # what an RT admin installs (README.md there)

RT_LIB = Path("/usr/share/request-tracker5/lib")
RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
SETUP_DATABASE_CANDIDATES = (Path("/usr/sbin/rt-setup-database-5"), Path("/usr/sbin/rt-setup-database"))
DEBIAN_PACKAGES = "request-tracker5 rt5-standalone rt5-db-sqlite"

STEP_TIMEOUT = 120.0  # seconds for one setup command (each takes 1-3 s here)
START_TIMEOUT = 60.0  # seconds for the server to answer once started (about 2 s here)
STOP_TIMEOUT = 10.0  # seconds for the server to exit after SIGTERM, before SIGKILL


class RT5NotInstalled(RuntimeError):
    """RT 5 (or a piece of it this module needs) is not installed on this machine."""


class RT5StartError(RuntimeError):
    """RT 5 is installed but could not be set up or started; the message has the log's tail."""


def _setup_database() -> Path | None:
    return next((p for p in SETUP_DATABASE_CANDIDATES if p.exists()), None)


def rt5_missing() -> list[str]:
    """What is missing to run a throwaway RT 5 here (empty when everything is there)."""
    missing = []
    if shutil.which("perl") is None:
        missing.append("perl")
    if not (RT_LIB / "RT.pm").exists():
        missing.append(f"RT 5 libraries ({RT_LIB}/RT.pm: Debian package request-tracker5)")
    if _setup_database() is None:
        missing.append("rt-setup-database-5 (Debian package request-tracker5)")
    if not RT_SERVER.exists():
        missing.append(f"{RT_SERVER} (Debian package request-tracker5)")
    for piece in ("webhooks/rt5/initialdata", "webhooks/rt5/connector.pm", "webhooks/rt5/connector-token.pl"):
        if not (ROOT / piece).exists():
            missing.append(f"{piece} (this repository)")
    if not missing:
        # rt5-db-sqlite pulls DBD::SQLite, rt5-standalone the Starlet server
        for module, package in (("DBD::SQLite", "rt5-db-sqlite"), ("Starlet", "rt5-standalone")):
            probe = subprocess.run(["perl", f"-M{module}", "-e", "1"], capture_output=True, timeout=30)
            if probe.returncode != 0:
                missing.append(f"Perl module {module} (Debian package {package})")
    return missing


def rt5_available() -> bool:
    """True when a throwaway RT 5 can be started here."""
    return not rt5_missing()


def _perl_str(value: str) -> str:
    """A Perl single-quoted string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(eq=False)
class RT5:
    """A running throwaway RT 5."""

    base_url: str  # http://127.0.0.1:<port> (the web UI; REST 2 is rest_url)
    token: str  # auth token of connector_user: "Authorization: token <token>"
    root_password: str  # of RT's "root" (SuperUser), for basic auth or the web UI
    log_path: Path  # RT's own log (the scrip's warnings land here)
    connector_user: str
    workdir: Path
    port: int
    secret_file: Path  # the webhook signing secret file the scrip reads on every delivery
    mbox_dir: Path  # RT's outgoing mail goes to <date>.mbox files here ($MailCommand mbox)
    started_in: float = 0.0  # seconds from nothing to answering REST 2 requests
    timings: dict = field(default_factory=dict)  # seconds per setup step
    server_log: Path | None = None
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _env: dict = field(default_factory=dict, repr=False)

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/REST/2.0"

    # --- HTTP helpers (urllib: no extra dependency) -----------------------------------------

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        token: str | None = None,
        basic: tuple[str, str] | None = None,
        headers: dict | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, dict, Any]:
        """One REST 2 call (path below /REST/2.0, or a full URL); (status, headers, JSON or text).
        Authenticates with the connector's token unless `token` or `basic` says otherwise."""
        url = path if path.startswith("http") else f"{self.rest_url}{path}"
        data = None
        hdrs = {"Accept": "application/json", **(headers or {})}
        if payload is not None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if basic:
            hdrs["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        else:
            hdrs["Authorization"] = f"token {token or self.token}"
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, rheaders, body = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            status, rheaders, body = exc.code, dict(exc.headers), exc.read()
        text = body.decode("utf-8", "replace")
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return status, rheaders, parsed

    def api(self, method: str, path: str, payload: Any = None, expect: int | tuple = (200, 201), **kw) -> Any:
        """A REST 2 call as the connector user; its JSON answer (asserting the status)."""
        status, _, body = self.request(method, path, payload, **kw)
        expected = (expect,) if isinstance(expect, int) else expect
        if status not in expected:
            raise AssertionError(f"{method} {path}: HTTP {status} {str(body)[:500]}")
        return body

    def perl(self, code: str, *args: str, timeout: float = 60.0) -> str:
        """Run Perl with RT loaded and initialised against this instance (RT::Init done); stdout."""
        prelude = "use lib " + _perl_str(str(RT_LIB)) + "; use RT; RT::LoadConfig(); RT::Init();\n"
        done = subprocess.run(
            ["perl", "-e", prelude + code, *args], env=self._env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RT5StartError(f"perl failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout

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
        """Stop the server (its whole process group: Starlet's master and workers). Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        _LIVE.discard(self)
        _stop_group(proc)


_LIVE: set = set()
_LIVE_LOCK = threading.Lock()


def _stop_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # never SIGINT: Debian's rt-server then chowns /var/lib/request-tracker5
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    try:  # the group may outlive its leader (workers): make sure nothing of it is left
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
    for rt in list(_LIVE):
        rt.stop()


def _site_config(workdir: Path, port: int, log_level: str, bcrypt_cost: int | None) -> str:
    d = {k: str(workdir / k) for k in ("var", "log", "mason_data", "session_data")}
    lines = [
        "# Throwaway RT 5 for tests (tests/support/rt5.py): everything below this folder.",
        "Set($rtname, 'rt-test');",
        "Set($Organization, 'rt-test.example');",
        "Set($CorrespondAddress, 'rt@rt-test.example');",
        "Set($CommentAddress, 'rt-comment@rt-test.example');",
        "Set($WebDomain, '127.0.0.1');",
        f"Set($WebPort, {port});",
        "Set($WebPath, '');",
        f"Set($WebBaseURL, 'http://127.0.0.1:{port}');",
        "Set($DatabaseType, 'SQLite');",
        f"Set($DatabaseName, {_perl_str(d['var'] + '/rt.db')});",
        f"Set($VarPath, {_perl_str(d['var'])});",
        f"Set($MasonDataDir, {_perl_str(d['mason_data'])});",
        f"Set($MasonSessionDir, {_perl_str(d['session_data'])});",
        f"Set($LogDir, {_perl_str(d['log'])});",
        f"Set($LogToFile, {_perl_str(log_level)});",
        "Set($LogToFileNamed, 'rt.log');",
        "Set($LogToSyslog, undef);",
        "Set($LogToSTDERR, 'error');",
        "Set($Timezone, 'UTC');",
        "Set($MailCommand, 'mbox');            # outgoing mail into var/<date>.mbox, never sent",
        "Set($WebSessionClass, 'Apache::Session::File');",
    ]
    if bcrypt_cost is not None:
        lines.append(f"Set($BcryptCost, {int(bcrypt_cost)});   # cheaper token checks (default 12, ~0.25 s a request)")
    return "\n".join(lines) + "\n1;\n"


def _connector_snippet(url: str, secret_file: Path, user: str) -> str:
    """The shipped RT_SiteConfig.d/connector.pm with this run's values (each must be found once)."""
    text = (SHIPPED / "connector.pm").read_text(encoding="utf-8")
    for option, value in (
        ("ConnectorWebhookURL", url),
        ("ConnectorWebhookSecretFile", str(secret_file)),
        ("ConnectorRTUser", user),
    ):
        pattern = re.compile(r"^Set\(\$" + option + r",\s*'[^']*'\);", re.M)
        line = f"Set(${option}, {_perl_str(value)});"
        text, n = pattern.subn(line.replace("\\", r"\\"), text)  # backslashes escaped: the line as it is
        if n != 1:
            raise RT5StartError(f"webhooks/rt5/connector.pm: expected one `Set(${option}, '...')` line, found {n}")
    return text


def _run(cmd: list[str], env: dict, what: str, log: Path, timings: dict, key: str) -> str:
    t0 = time.monotonic()
    try:
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise RT5StartError(f"{what}: no answer within {STEP_TIMEOUT:.0f} s") from exc
    timings[key] = round(time.monotonic() - t0, 3)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RT5StartError(
            f"{what} failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}\n{tail}"
        )
    return done.stdout


def _log_errors(log: Path, start: int) -> list[str]:
    if not log.exists():
        return []
    with log.open("rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    return [line for line in text.splitlines() if re.search(r"\] \[(error|critical|alert|emergency)\]:", line)]


def start_rt5(
    workdir: Path,
    connector_url: str,
    webhook_secret: str,
    connector_user: str = "connector",
    *,
    log_level: str = "info",
    workers: int = 2,
    bcrypt_cost: int | None = None,
    start_timeout: float = START_TIMEOUT,
) -> RT5:
    """Set up and start a throwaway RT 5 in `workdir` (created if needed; must not hold another RT).

    `connector_url`: where the scrip POSTs deliveries ($ConnectorWebhookURL);
    `webhook_secret`: the `whsec_...` signing secret (written to a file the scrip reads);
    `connector_user`: the connector's privileged RT user, created by the insert, whose own
    changes send no webhooks; `token` is an auth token of it. `bcrypt_cost` lowers RT's
    $BcryptCost (12: each token-authenticated request costs ~0.25 s of bcrypt here).
    Raises RT5NotInstalled (naming what is missing) or RT5StartError (with the log's tail)."""
    missing = rt5_missing()
    if missing:
        raise RT5NotInstalled(
            "RT 5 cannot run here; missing: " + "; ".join(missing) + f" (Debian: apt-get install {DEBIAN_PACKAGES})"
        )
    if not re.fullmatch(r"whsec_[A-Za-z0-9+/=]+", webhook_secret or ""):
        raise ValueError("webhook_secret must look like whsec_<base64>")
    if not re.fullmatch(r"[A-Za-z0-9_.@-]+", connector_user):
        raise ValueError("connector_user: letters, digits and _.@- only")

    t_start = time.monotonic()
    workdir = Path(workdir).resolve()
    etc = workdir / "etc"
    confd = etc / "RT_SiteConfig.d"
    for sub in (confd, workdir / "var", workdir / "log", workdir / "mason_data", workdir / "session_data"):
        sub.mkdir(parents=True, exist_ok=True)
    if (workdir / "var" / "rt.db").exists():
        raise RT5StartError(f"{workdir} already holds an RT database; give each instance its own folder")

    port = free_port()
    log_path = workdir / "log" / "rt.log"
    secret_file = etc / "connector-webhook-secret"
    secret_file.write_text(webhook_secret + "\n")
    secret_file.chmod(0o600)
    root_password = secrets.token_urlsafe(12)
    pw_file = etc / "root-password"
    pw_file.write_text(root_password + "\n")
    pw_file.chmod(0o600)

    site_config = etc / "RT_SiteConfig.pm"
    site_config.write_text(_site_config(workdir, port, log_level, bcrypt_cost))
    (confd / "connector.pm").write_text(_connector_snippet(connector_url, secret_file, connector_user))

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin:/usr/sbin:/sbin"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "RT_SITE_CONFIG": str(site_config),
        "RT_SITE_CONFIG_DIR": str(confd),
        "TMPDIR": str(workdir / "var"),
    }
    timings: dict = {}
    setup_db = str(_setup_database())

    _run(
        [setup_db, "--action", "init", "--root-password-file", str(pw_file)],
        env,
        "rt-setup-database --action init",
        log_path,
        timings,
        "init_database",
    )
    log_mark = log_path.stat().st_size if log_path.exists() else 0
    out = _run(
        [setup_db, "--action", "insert", "--datafile", str(SHIPPED / "initialdata")],
        env,
        "rt-setup-database --action insert --datafile webhooks/rt5/initialdata",
        log_path,
        timings,
        "insert_initialdata",
    )
    errors = _log_errors(log_path, log_mark)
    if errors or "Done inserting data" not in out:
        raise RT5StartError(
            "webhooks/rt5/initialdata did not insert cleanly:\n" + out[-2000:] + "\n" + "\n".join(errors[-20:])
        )
    token = _run(
        ["perl", str(SHIPPED / "connector-token.pl"), connector_user],
        env,
        "webhooks/rt5/connector-token.pl",
        log_path,
        timings,
        "create_token",
    ).strip()
    if not re.fullmatch(r"1-\d+-[0-9a-f]{32}", token):
        raise RT5StartError(f"connector-token.pl printed no token: {token!r}")

    server_log = workdir / "log" / "rt-server.out"
    rt = RT5(
        base_url=f"http://127.0.0.1:{port}",
        token=token,
        root_password=root_password,
        log_path=log_path,
        connector_user=connector_user,
        workdir=workdir,
        port=port,
        secret_file=secret_file,
        mbox_dir=workdir / "var",
        timings=timings,
        server_log=server_log,
        _env=env,
    )

    # The server reads a pipe from us and is stopped when it closes (this process died): no orphans.
    watchdog = (
        'exec 3<&0; "$@" </dev/null & child=$!; ( read _ignored <&3; kill -TERM "$child" 2>/dev/null ) & wait "$child"'
    )
    cmd = [
        "sh",
        "-c",
        watchdog,
        "rt-server",
        "perl",
        str(RT_SERVER),
        "--server",
        "Starlet",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-workers",
        str(max(1, workers)),
    ]
    t0 = time.monotonic()
    with server_log.open("ab") as out_f:
        rt._proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=out_f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=workdir,
        )
    with _LIVE_LOCK:
        _LIVE.add(rt)
    try:
        _wait_until_up(rt, start_timeout)
    except BaseException:
        rt.stop()
        raise
    timings["server_up"] = round(time.monotonic() - t0, 3)
    rt.started_in = round(time.monotonic() - t_start, 3)
    return rt


def _wait_until_up(rt: RT5, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if rt._proc is None or rt._proc.poll() is not None:
            raise RT5StartError(
                f"rt-server exited early (code {rt._proc.returncode if rt._proc else '?'}):\n" + rt.log_tail()
            )
        try:
            status, _, body = rt.request("GET", "/rt", timeout=5)
            if status == 200 and isinstance(body, dict) and str(body.get("Version", "")).startswith("5."):
                return
            last = f"HTTP {status} {str(body)[:200]}"
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RT5StartError(f"RT did not answer GET /REST/2.0/rt within {timeout:.0f} s ({last}):\n" + rt.log_tail())
