"""Standard Webhooks, the scheme of every add-on we ship: signatures by the `standardwebhooks`
package, freshness against the `now` passed in, key rotation on both sides, hostile headers 401."""

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from connector.core.errors import Unauthorized
from connector.core.events import Delivery
from connector.platforms.standard_webhooks import check, new_secret, sign

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OLD, NEW = new_secret(), new_secret()
BODY = b'{"type":"ticket.created","data":{"ticket":1}}'


def delivery(headers: dict, body: bytes = BODY) -> Delivery:
    return Delivery({k.lower(): v for k, v in headers.items()}, body)


def test_what_we_sign_the_package_verifies_and_back():
    headers = sign(NEW, BODY, datetime.now(UTC), "rt-1")
    assert Webhook(NEW).verify(BODY, headers) == {"type": "ticket.created", "data": {"ticket": 1}}
    assert check(NEW, delivery(headers), datetime.now(UTC)) == "rt-1"


def test_during_a_rotation_either_side_may_hold_two_secrets():
    old_sig = sign(OLD, BODY, NOW, "m")
    both = {
        **old_sig,
        "webhook-signature": old_sig["webhook-signature"] + " " + sign(NEW, BODY, NOW, "m")["webhook-signature"],
    }
    assert check(NEW, delivery(both), NOW) == "m"  # the sender signs with both
    assert check(f"{NEW} {OLD}", delivery(old_sig), NOW) == "m"  # the receiver knows both
    with pytest.raises(Unauthorized, match="does not match"):
        check(NEW, delivery(old_sig), NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-signature": None},
        {"webhook-id": None},
        {"webhook-timestamp": None},
        {"webhook-timestamp": "yesterday"},
        {"webhook-timestamp": "9" * 30},
        {"webhook-signature": "v1"},
        {"webhook-signature": "v1,not base64 ☃"},
        {"webhook-signature": "v2,AAAA"},
        {"webhook-id": "another"},
    ],
)
def test_missing_forged_or_unreadable_headers_are_401(change):
    headers = {**sign(NEW, BODY, NOW, "m"), **change}
    with pytest.raises(Unauthorized):
        check(NEW, delivery({k: v for k, v in headers.items() if v is not None}), NOW)


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_more_than_five_minutes_off_is_401(skew):
    with pytest.raises(Unauthorized, match="5 minutes"):
        check(NEW, delivery(sign(NEW, BODY, NOW + skew, "m")), NOW)


@pytest.mark.parametrize("secret", ["", "not-a-whsec-secret-!!"])
def test_no_secret_or_a_broken_one_lets_nothing_in(secret):
    with pytest.raises(Unauthorized):
        check(secret, delivery(sign(NEW, BODY, NOW, "m")), NOW)


def test_a_body_that_is_not_utf8_is_401_not_a_crash():
    with pytest.raises(Unauthorized):
        check(NEW, delivery(sign(NEW, BODY, NOW, "m"), b"\xff\xfe"), NOW)
