"""Local servers the examples run against when no URL is given (built on sse_client.testing)."""

from __future__ import annotations

import json

from sse_client.testing import Drop, Reply, Request, SSEServer, Stream, event


def openai_compatible() -> SSEServer:
    """A fake chat-completions endpoint: POST /v1/chat/completions streams tokens, then [DONE].

    A request whose last message says "fail" gets an in-band error event instead.
    """

    def respond(request: Request) -> Stream | Reply:
        body = json.loads(request.body or b"{}")
        if not body.get("stream"):
            return Reply(400, b'{"error": "this fake only streams"}')
        prompt = body["messages"][-1]["content"]
        if "fail" in prompt:
            error = {"error": {"type": "overloaded_error", "message": "try again later"}}
            return Stream(event(json.dumps(error), event="error"))
        chunks = [
            {"choices": [{"index": 0, "delta": {"content": token}}]}
            for token in ["Hello", ",", " world", "!"]
        ]
        steps = [event(json.dumps(chunk)) for chunk in chunks]
        return Stream(*steps, event("[DONE]"))

    server = SSEServer()
    server.route("/v1/chat/completions", respond)
    return server


def notification_feed() -> SSEServer:
    """GET /notifications: five notifications, the connection drops after the second."""
    notes = [json.dumps({"n": n, "text": f"notification {n}"}) for n in range(1, 6)]

    def respond(request: Request) -> Stream | Reply:
        last = int(request.last_event_id or 0)
        if last >= len(notes):
            return Reply(204)
        steps = [event(note, event="notification", id=str(n)) for n, note in enumerate(notes, 1)]
        if last == 0:
            return Stream(event(None, retry=100), *steps[:2], Drop())
        return Stream(*steps[last:])

    server = SSEServer()
    server.route("/notifications", respond)
    return server
