"""Fn's json frames: what a function reads for a request, and how its answers are read from
stdout lines (one line or several, stray log lines, wrong shapes)."""

from __future__ import annotations

import orjson
import pytest

from sluice.runtime.fn_http import ProtocolError
from sluice.runtime.fn_json import Framer, decode, encode
from sluice.runtime.fn_request import FnRequest


def test_a_request_is_one_object_then_a_blank_line() -> None:
    request = FnRequest(
        call_id="01BVJ5T7CA07WGE00000000000",
        method="PUT",
        url="http://h/r/app/fn?x=1",
        deadline="2017-10-03T22:31:31.258Z",
        headers={"Content-Type": "text/plain", "X-A": "1"},
        body="héllo".encode(),
    )
    data = encode(request)
    assert data.endswith(b"}\n\n")
    assert orjson.loads(data) == {
        "call_id": "01BVJ5T7CA07WGE00000000000",
        "deadline": "2017-10-03T22:31:31.258Z",
        "content_type": "text/plain",
        "body": "héllo",
        "protocol": {
            "type": "http",
            "method": "PUT",
            "request_url": "http://h/r/app/fn?x=1",
            "headers": {"Content-Type": ["text/plain"], "X-A": ["1"]},
        },
    }


def test_an_answer_on_one_line_and_log_lines_around_it() -> None:
    framer = Framer(1 << 20)
    assert not framer.takes(b"a log line")
    assert framer.takes(b'{"body": "one"}')
    assert framer.feed(b'{"body": "one"}') == {"body": "one"}
    assert not framer.takes(b"another log line")


def test_a_multi_line_answer_completes_on_its_last_line() -> None:
    framer = Framer(1 << 20)
    lines = [b"{", b'  "body": "a } inside",', b'  "protocol": {"status_code": 201}', b"}"]
    assert framer.feed(lines[0]) is None
    assert framer.takes(lines[1])  # inside an answer every line is part of it
    found = [framer.feed(line) for line in lines[1:]]
    assert found == [None, None, {"body": "a } inside", "protocol": {"status_code": 201}}]


def test_an_answer_over_the_limit_is_refused() -> None:
    framer = Framer(10)
    with pytest.raises(ProtocolError, match="larger than 10 bytes"):
        framer.feed(b'{"body": "far too long for ten bytes"')


def test_decode_reads_status_headers_and_content_type() -> None:
    answer = decode(
        {
            "body": "hi",
            "content_type": "text/plain",
            "protocol": {"status_code": 404, "headers": {"X-A": ["1", "2"], "Content-Type": "x"}},
        }
    )
    assert (answer.status, answer.body, answer.user_status()) == (200, b"hi", 404)
    assert answer.user_headers() == {"X-A": "1, 2", "Content-Type": "text/plain"}
    bare = decode({"body": {"as": "json"}})
    assert (bare.body, bare.user_status()) == (b'{"as":"json"}', 200)
    assert bare.user_headers() == {"Content-Type": "text/plain; charset=utf-8"}


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ([], "not a JSON object"),
        ({"content_type": 3}, "content_type is not a string"),
        ({"protocol": 7}, "protocol is not an object"),
        ({"protocol": {"status_code": 99}}, "status_code 99 is not an HTTP status"),
        ({"protocol": {"headers": "x"}}, "protocol.headers is not an object"),
    ],
)
def test_decode_names_what_is_wrong(frame: object, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode(frame)
