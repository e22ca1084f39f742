"""The policy file's errors (config and calendar files have theirs in their own tests)."""

import pytest

from connector.config.policies import load_policy
from connector.core.errors import BadInput


@pytest.mark.parametrize("content,message", [(None, "cannot read policy file"), ("{", "not valid JSON")])
def test_a_bad_policy_file_names_itself(tmp_path, content, message):
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BadInput, match=message) as caught:
        load_policy(path)
    assert str(path) in str(caught.value)
