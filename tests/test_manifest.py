"""manifest.json and the README's platform table are generated from the code
(python -m connector.cli.manifest) and kept in step; every registered platform has what the
contract says follows from its name."""

import json

from connector.cli.manifest import MANIFEST, README, manifest, readme_with_table
from connector.composition import configuration
from connector.platforms import ADAPTERS


def test_manifest_matches_the_code():
    assert json.loads(MANIFEST.read_text(encoding="utf-8")) == manifest(), "run: python -m connector.cli.manifest"


def test_the_readme_platform_table_matches_the_code():
    text = README.read_text(encoding="utf-8")
    assert readme_with_table(text) == text, "run: python -m connector.cli.manifest"
    for cls in ADAPTERS:
        assert f"`{cls.name}`" in text and f"webhooks/{cls.name}/README.md" in text


def test_every_platform_has_its_schema_fixtures_and_install_folder():
    root = MANIFEST.parent
    for platform in manifest()["platforms"]:
        assert (root / platform["schema"]).is_file()
        assert (root / platform["install"] / "README.md").is_file()
        assert (root / "tests" / "fixtures" / platform["name"] / "contract.json").is_file()
        assert platform["settings"]["type"] == "object"


def test_a_platform_option_is_checked_when_the_config_loads(tmp_path):
    """The settings schema on each adapter class is the config's check: a wrong option is a
    start-up error naming its key, for every registered platform."""
    import pytest

    from connector.core.errors import ValidationFailed

    for cls in ADAPTERS:
        path = tmp_path / f"{cls.name}.toml"
        path.write_text(f"[platforms.{cls.name}]\n[platforms.{cls.name}.options]\nno_such_option = 1\n")
        with pytest.raises(ValidationFailed) as caught:
            configuration(path)
        assert any(f"platforms.{cls.name}.options" in p and "no_such_option" in p for p in caught.value.problems)
