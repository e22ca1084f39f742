"""webhooks/generic/README.md is what the code does: every TOML example in it loads through the
config check (presets, overrides, the in-house example), and `connector install generic` says
what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector.cli import cli
from connector.composition import configuration

README = Path(__file__).resolve().parents[1] / "webhooks" / "generic" / "README.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_its_three_examples():
    assert len(BLOCKS) == 3


@pytest.mark.parametrize("block", BLOCKS, ids=["zammad", "glpi", "by-hand"])
def test_every_toml_example_in_the_readme_loads(block, tmp_path, monkeypatch):
    text = block.replace("/etc/connector/", f"{tmp_path}/")
    for name in re.findall(r'_file = "[^"]*/([^"/]+)"', text):
        (tmp_path / name).write_text("a-webhook-secret-of-enough-length\n", encoding="utf-8")
    for name in re.findall(r'_env = "([A-Z_]+)"', text):
        monkeypatch.setenv(name, "a-secret-from-the-environment")
    path = tmp_path / "connector.toml"
    path.write_text(text, encoding="utf-8")
    assert set(configuration(path).platforms) == {"generic"}


def test_connector_install_says_where_and_how(tmp_path, runner, monkeypatch):
    monkeypatch.setenv("GLPI_USER_TOKEN", "a-user-token")
    path = tmp_path / "connector.toml"
    (tmp_path / "glpi-webhook-secret").write_text("Gl9x2Qm4Vt7Rk1Zp8Hs3Wd6Yf0Nb5Lc2Jq7Ue4Ta\n", encoding="utf-8")
    path.write_text(BLOCKS[1].replace("/etc/connector/", f"{tmp_path}/"), encoding="utf-8")
    result = runner.invoke(cli, ["install", "generic", "--config", str(path), "--url", "https://connector.example"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Point the tracker's webhook (preset glpi) at https://connector.example/webhooks/generic (POST, JSON body).",
        "It must prove itself with X-GLPI-signature: <hex HMAC-SHA256 of {body}{X-GLPI-timestamp}>, keyed with "
        "platforms.generic.webhook_secret.",
        "See webhooks/generic/README.md for the steps on Zammad and GLPI and the fields to create.",
    ]
