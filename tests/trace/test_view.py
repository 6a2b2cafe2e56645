"""The views of a trace (``inspect``, ``inspect --json``): no field collapsed into another, and
nothing left out without saying so."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from wasm_rr.trace.events import EventDecl, f
from wasm_rr.trace.reader import Event
from wasm_rr.trace.view import event_json
from wasm_rr.world.registry import EVENTS

from ..conftest import ROOT, cli
from .test_bounds import field_edges

GOLDEN = ROOT / "golden" / "v2"
TOP = {"type", "seq", "kind", "fuel", "question", "answer", "site"}


@pytest.mark.parametrize("decl", list(EVENTS.values()), ids=list(EVENTS))
def test_every_field_of_every_kind_has_a_place_of_its_own(decl: EventDecl) -> None:
    """In the JSON of an event of each kind, every declared field is there under its name, the
    question's and the answer's apart: names never clash (``http.send`` has ``headers``,
    ``body`` and ``body_size`` in both), so no value hides another."""
    for part in (decl.question, decl.answer):
        names = [fd.name for fd in part]
        assert len(set(names)) == len(names), names
    # Each field a value of its own (its position), so a collapse would show as a lost value.
    values = [[j, field_edges(fd)[-1]] for j, fd in enumerate(decl.fields)]
    event = Event(7, 1, 3, tuple(values), None, decl)
    obj = event_json(event)
    assert set(obj) == {"seq", "kind", "fuel", "question", "answer"} <= TOP
    assert list(obj["question"]) == [fd.name for fd in decl.question]
    assert list(obj["answer"]) == [fd.name for fd in decl.answer]
    shown = [*obj["question"].values(), *obj["answer"].values()]
    assert [v[0] for v in shown] == list(range(len(decl.fields)))


def test_a_declaration_with_two_fields_of_one_name_is_refused() -> None:
    with pytest.raises(ValueError, match="share a name"):
        EventDecl("x", "y", (f("a", "uint"), f("a", "str")), ())
    # The same name in the question and in the answer is fine: they are shown apart.
    EventDecl("x", "y", (f("body", "bytes"),), (f("body", "payload"),))


def test_inspect_json_keeps_the_request_and_the_response_of_an_http_send() -> None:
    shown = cli("inspect", "--json", GOLDEN / "c-transfer.cbor")
    assert shown.status == 0, shown.stderr
    (send,) = [
        o for o in map(json.loads, shown.stdout.splitlines()) if o.get("kind") == "http.send"
    ]
    request, response = send["question"], send["answer"]
    assert request["method"] == "POST"
    assert request["headers"] == [["content-type", {"bytes": "application/x-www-form-urlencoded"}]]
    assert request["body"] == {"bytes": "from=alice&to=bob&amount=100"}
    assert request["body_size"] == 28
    assert response["status"] == 200
    assert ["X-Method", {"bytes": "POST"}] in response["headers"]
    assert response["body"] == {"bytes": "from=alice&to=bob&amount=100"}


def _events(stdout: str) -> list[dict[str, Any]]:
    return [o for o in map(json.loads, stdout.splitlines()) if o["type"] == "event"]


def test_inspect_json_shows_every_event_and_the_text_view_says_what_it_left_out() -> None:
    trace = GOLDEN / "fsprobe.cbor"  # 909 events
    everything = _events(cli("inspect", "--json", trace).stdout)
    assert len(everything) == 909 and everything[-1]["seq"] == 909
    assert len(_events(cli("inspect", "--json", "--limit", "5", trace).stdout)) == 5
    text = cli("inspect", trace).stdout.splitlines()
    assert sum(1 for line in text if line.startswith("  ") and line.split()[0].isdigit()) == 50
    assert "  ... 859 more events (--limit 0 shows all)" in text
    assert "more event" not in cli("inspect", "--limit", "0", trace).stdout
    last = cli("inspect", "--limit", "908", trace).stdout
    assert "  ... 1 more event (--limit 0 shows all)" in last.splitlines()


def test_the_readme_jq_example_still_works(tmp_path: Path) -> None:
    """``wasm-rr inspect --json p.cbor | jq .kind``: each line an object with its kind."""
    lines = cli("inspect", "--json", GOLDEN / "greet.cbor").stdout.splitlines()
    kinds = [json.loads(line).get("kind") for line in lines]
    assert kinds[0] is None and kinds[-1] is None  # the header and the footer
    assert kinds[1:-1] and all(isinstance(k, str) and "." in k for k in kinds[1:-1])


def test_an_event_of_a_kind_without_declaration_keeps_its_fields() -> None:
    decl = EVENTS["io.write"]
    event = replace(Event(1, 9, 0, (1, b"x", 1), None, decl), decl=None)
    assert event_json(event) == {
        "seq": 1,
        "kind": "<kind 9>",
        "fuel": 0,
        "fields": [1, {"bytes": "x"}, 1],
    }
