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


def mcp_server() -> SSEServer:
    """/mcp: a stand-in for an MCP server on streamable HTTP (protocol 2025-11-25).

    initialize is answered as JSON with a session ID, which every later request must carry
    (with MCP-Protocol-Version); notifications get 202; other requests an event stream: a
    priming event (an id, retry: 100, no data), then the response. Of the tools, "greet"
    needs an argument; "hello" sends a log notification before its result; "report" closes
    its stream after the priming event, and its result comes on the resume (a GET with
    Last-Event-ID).
    """
    session = {"mcp-session-id": "stand-in-1"}
    named = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    tools = [
        {"name": "hello", "inputSchema": {"type": "object", "properties": {}}},
        {"name": "greet", "inputSchema": named},
        {"name": "report", "inputSchema": {"type": "object"}},
    ]
    pending: dict[str, bytes] = {}  # the priming event's id -> the response to resume with

    def answer(request_id: int, result: object, *, id: str | None = None) -> bytes:
        return event(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}), id=id)

    def respond(request: Request) -> Stream | Reply:
        message = json.loads(request.body) if request.method == "POST" else {}
        if message.get("method") == "initialize":
            agreed = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}}
            body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": agreed})
            json_type = {"Content-Type": "application/json"}
            return Reply(200, body.encode(), headers=json_type | session)
        if request.headers.get("mcp-session-id") != session["mcp-session-id"] or (
            request.headers.get("mcp-protocol-version") != "2025-11-25"
        ):
            return Reply(400, b"missing or unknown session, or protocol version")
        if request.method == "GET" and request.last_event_id in pending:
            return Stream(pending.pop(request.last_event_id), headers=session)
        if request.method != "POST":
            return Reply(200 if request.method == "DELETE" else 405, headers=session)
        if "id" not in message:
            return Reply(202, headers=session)
        request_id = message["id"]
        priming = event("", id=f"{request_id}/0", retry=100)
        if message["method"] == "tools/list":
            return Stream(priming, answer(request_id, {"tools": tools}), headers=session)
        name = message["params"]["name"]
        result: object = {"content": [{"type": "text", "text": f"{name}: done"}], "isError": False}
        if name == "report":  # the stream ends after its priming event: resume to get it
            pending[f"{request_id}/0"] = answer(request_id, result, id=f"{request_id}/1")
            return Stream(priming, headers=session)
        log = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "hi"}}
        return Stream(priming, event(json.dumps(log)), answer(request_id, result), headers=session)

    server = SSEServer()
    server.route("/mcp", respond)
    return server
