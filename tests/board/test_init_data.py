"""The Mini App's initData check: Telegram's documented HMAC scheme, the expiry, and what is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import quote, urlencode

import pytest

from bot.board.init_data import InitDataRejected, check_init_data, sign_init_data

TOKEN = "123456:AAEfakeTokenForTheBoardTests_xyz"
OTHER_TOKEN = "654321:AAEanotherBotsToken_abcdefgh"
USER = {"id": 7001, "first_name": "Ержан", "language_code": "ru"}


def telegram_signed(fields: dict[str, str], token: str) -> str:
    """initData signed by hand, following Telegram's documentation step by step (not the module's code)."""
    check_string = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(key=b"WebAppData", msg=token.encode(), digestmod=hashlib.sha256).digest()
    digest = hmac.new(key=secret, msg=check_string.encode(), digestmod=hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest}, quote_via=quote)


def fields(auth_date: int) -> dict[str, str]:
    return {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(USER, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(auth_date),
    }


def test_valid_init_data_gives_the_user() -> None:
    now = int(time.time())
    checked = check_init_data(telegram_signed(fields(now - 60), TOKEN), TOKEN)
    assert checked.user.id == 7001 and checked.user.first_name == "Ержан"
    assert checked.user.language_code == "ru" and checked.auth_date == now - 60


def test_the_signing_helper_matches_telegrams_scheme() -> None:
    now = int(time.time())
    ours = check_init_data(sign_init_data({**fields(now), "user": USER}, TOKEN), TOKEN)
    assert ours.user.id == 7001


def test_a_forged_field_is_refused() -> None:
    raw = telegram_signed(fields(int(time.time())), TOKEN)
    forged = raw.replace("7001", "7002")
    with pytest.raises(InitDataRejected) as refused:
        check_init_data(forged, TOKEN)
    assert refused.value.reason == "hash"


def test_a_made_up_hash_is_refused() -> None:
    raw = urlencode({**fields(int(time.time())), "hash": "0" * 64})
    with pytest.raises(InitDataRejected):
        check_init_data(raw, TOKEN)


def test_stale_init_data_is_refused_after_the_configured_age() -> None:
    day_ago = int(time.time()) - 24 * 3600 - 5
    raw = telegram_signed(fields(day_ago), TOKEN)
    with pytest.raises(InitDataRejected) as refused:
        check_init_data(raw, TOKEN, max_age_seconds=24 * 3600)
    assert refused.value.reason == "stale"
    assert check_init_data(raw, TOKEN, max_age_seconds=48 * 3600).user.id == 7001


def test_a_date_in_the_future_is_refused() -> None:
    raw = telegram_signed(fields(int(time.time()) + 3600), TOKEN)
    with pytest.raises(InitDataRejected):
        check_init_data(raw, TOKEN)


def test_another_bots_init_data_is_refused() -> None:
    raw = telegram_signed(fields(int(time.time())), OTHER_TOKEN)
    with pytest.raises(InitDataRejected) as refused:
        check_init_data(raw, TOKEN)
    assert refused.value.reason == "hash"


@pytest.mark.parametrize(
    "raw",
    ["", "garbage", "hash=abc", "a=1&a=2&hash=abc", "x" * 10_000],
)
def test_missing_or_malformed_init_data_is_refused(raw: str) -> None:
    with pytest.raises(InitDataRejected):
        check_init_data(raw, TOKEN)


def test_signed_data_without_a_user_is_refused() -> None:
    raw = telegram_signed({"auth_date": str(int(time.time())), "query_id": "x"}, TOKEN)
    with pytest.raises(InitDataRejected) as refused:
        check_init_data(raw, TOKEN)
    assert refused.value.reason == "no_user"
