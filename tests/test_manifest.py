"""manifest.json is generated from the code (python -m connector.cli.manifest) and kept in step."""
import json

from connector.cli.manifest import MANIFEST, manifest


def test_manifest_matches_the_code():
    assert json.loads(MANIFEST.read_text(encoding="utf-8")) == manifest(), "run: python -m connector.cli.manifest"


def test_every_platform_has_its_schema_fixtures_and_install_folder():
    root = MANIFEST.parent
    for platform in manifest()["platforms"]:
        assert (root / platform["schema"]).is_file()
        assert (root / platform["install"] / "README.md").is_file()
        assert (root / "tests" / "fixtures" / platform["name"]).is_dir()
