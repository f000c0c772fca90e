"""The event model and the ready states."""

from __future__ import annotations

import dataclasses
import json
import types

import pytest

from sse_client import ReadyState, ServerSentEvent


def test_event_defaults() -> None:
    """A bare event is a "message" with empty data, no id and no retry."""
    event = ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", "", "", None)


def test_event_fields_in_order() -> None:
    """The fields are event, data, id, retry, so positional construction reads naturally."""
    assert [f.name for f in dataclasses.fields(ServerSentEvent)] == ["event", "data", "id", "retry"]
    assert ServerSentEvent("e", "d", "1", 5) == ServerSentEvent(
        event="e", data="d", id="1", retry=5
    )


@pytest.mark.parametrize("name", ["event", "data", "id", "retry"])
def test_event_is_frozen(name: str) -> None:
    """No field of an event can be reassigned or deleted."""
    event = ServerSentEvent(data="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(event, name, "changed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(event, name)


def test_event_is_slotted() -> None:
    """An event has no __dict__: it is small, and no stray attribute can be added."""
    event = ServerSentEvent(data="x")
    assert not hasattr(event, "__dict__")
    for name in ("event", "data", "id", "retry"):
        assert isinstance(getattr(ServerSentEvent, name), types.MemberDescriptorType)
    with pytest.raises((AttributeError, TypeError)):
        event.extra = 1  # type: ignore[attr-defined]


def test_events_compare_by_value() -> None:
    """Events with equal fields are equal and hash alike; any other field tells them apart."""
    event = ServerSentEvent("e", "d", "1", 5)
    assert event == ServerSentEvent("e", "d", "1", 5)
    assert hash(event) == hash(ServerSentEvent("e", "d", "1", 5))
    assert len({event, ServerSentEvent("e", "d", "1", 5)}) == 1
    for other in [
        ServerSentEvent("f", "d", "1", 5),
        ServerSentEvent("e", "x", "1", 5),
        ServerSentEvent("e", "d", "2", 5),
        ServerSentEvent("e", "d", "1", None),
    ]:
        assert event != other
    fields: object = ("e", "d", "1", 5)
    assert event != fields


@pytest.mark.parametrize(
    ("data", "value"),
    [
        pytest.param('{"n": 1, "s": ["a"]}', {"n": 1, "s": ["a"]}, id="object"),
        pytest.param("[1, 2]", [1, 2], id="array"),
        pytest.param('"text"', "text", id="string"),
        pytest.param("null", None, id="null"),
        pytest.param("42", 42, id="number"),
        pytest.param('{\n"multi": "line"\n}', {"multi": "line"}, id="multi-line-data"),
    ],
)
def test_json_decodes_the_data(data: str, value: object) -> None:
    """.json() decodes the data as JSON."""
    assert ServerSentEvent(data=data).json() == value


@pytest.mark.parametrize("data", ["[DONE]", "", "{'single': 'quotes'}", "1 2"])
def test_json_raises_on_data_that_is_not_json(data: str) -> None:
    """.json() raises json.JSONDecodeError (a ValueError) on data that is not JSON."""
    with pytest.raises(json.JSONDecodeError):
        ServerSentEvent(data=data).json()
    with pytest.raises(ValueError, match=r"Expecting|Extra data"):
        ServerSentEvent(data=data).json()


@pytest.mark.parametrize(
    ("event", "text"),
    [
        pytest.param(ServerSentEvent(), "ServerSentEvent(event='message', data='')", id="default"),
        pytest.param(
            ServerSentEvent("add", "x\ny"),
            "ServerSentEvent(event='add', data='x\\ny')",
            id="no-id-no-retry",
        ),
        pytest.param(
            ServerSentEvent(data="x", id="7"),
            "ServerSentEvent(event='message', data='x', id='7')",
            id="with-id",
        ),
        pytest.param(
            ServerSentEvent(data="x", retry=0),
            "ServerSentEvent(event='message', data='x', retry=0)",
            id="retry-zero-shown",
        ),
        pytest.param(
            ServerSentEvent("e", "x", "7", 1500),
            "ServerSentEvent(event='e', data='x', id='7', retry=1500)",
            id="everything",
        ),
    ],
)
def test_repr_is_readable(event: ServerSentEvent, text: str) -> None:
    """The repr shows type and data, and the id and retry only when they are set."""
    assert repr(event) == text


def test_repr_evaluates_back_to_an_equal_event() -> None:
    """The repr is valid Python that rebuilds an equal event."""
    event = ServerSentEvent("e", "a'\"\n\u2028", "7", 3)
    assert eval(repr(event), {"ServerSentEvent": ServerSentEvent}) == event


@pytest.mark.parametrize(
    ("state", "value"),
    [(ReadyState.CONNECTING, 0), (ReadyState.OPEN, 1), (ReadyState.CLOSED, 2)],
)
def test_ready_state_values(state: ReadyState, value: int) -> None:
    """Ready states carry the standard's numbers and compare equal to them."""
    assert state == value
    assert int(state) == value
    assert ReadyState(value) is state


def test_ready_state_has_exactly_three_members() -> None:
    """CONNECTING, OPEN and CLOSED are the only ready states."""
    assert [state.name for state in ReadyState] == ["CONNECTING", "OPEN", "CLOSED"]
    with pytest.raises(ValueError, match="3"):
        ReadyState(3)
