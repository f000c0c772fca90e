"""A minimal MCP client (streamable HTTP): initialize, list the tools, call each one that
takes no arguments.

Run: ``python examples/mcp_client.py [URL]``, URL being the MCP endpoint (such as
``http://127.0.0.1:8000/mcp``). Without a URL it starts a local stand-in for an MCP server.

Each request is a POST whose answer may be JSON or an event stream (``also_accept``). A
server may close a call's stream after its priming event (an ``id:`` and a ``retry:``, no
data): the ``resume`` function then reconnects after the server's ``retry:`` with a GET that
carries ``Last-Event-ID`` and the session's headers, and the response arrives there (a
stream that ended before any ``id:`` has nothing to resume: it ends).
Messages the server sends on a stream before the response (notifications, requests) are
skipped.

Output: one JSON line per tool called, ``{"tool": NAME, "result": RESULT}``, RESULT being
the JSON-RPC result as the server sent it (``{"tool": NAME, "error": ERROR}`` if the server
answered with a JSON-RPC error).
"""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

import httpx2

from sse_client import STOP, EventSource, Resume

#: The first revision whose streams start with a priming event, so that they can be resumed.
PROTOCOL_VERSION = "2025-11-25"
INITIALIZE = {
    "protocolVersion": PROTOCOL_VERSION,
    "capabilities": {},  # no sampling, no elicitation: the server has nothing to ask
    "clientInfo": {"name": "sse_client-example", "version": "1.0"},
}


class MCPError(Exception):
    """The server answered a request with a JSON-RPC error."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", error))
        self.error = error


class Session:
    """One MCP session on one client: the endpoint, and the headers every request carries."""

    def __init__(self, client: httpx2.Client, url: str) -> None:
        self.client = client
        self.url = url
        self.headers: dict[str, str] = {}
        self.ids = itertools.count(1)

    def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send a request and return the result of its response, whichever way it comes."""
        message = {"jsonrpc": "2.0", "id": next(self.ids), "method": method, "params": params or {}}
        with EventSource(
            self.url,
            client=self.client,
            method="POST",
            json=message,
            headers=self.headers,
            also_accept={"application/json"},
            # A GET with Last-Event-ID, the session's headers and no body; with no ID yet
            # there is nothing to resume (such a GET would wait on the session's own stream).
            resume=lambda source: Resume() if source.last_event_id else STOP,
        ) as source:
            for event in source:
                if not event.data:
                    continue  # a priming event: an ID to resume from, no message
                reply = event.json()
                if "method" in reply or reply.get("id") != message["id"]:
                    continue  # the server's own notifications and requests
                self.keep_session_id(source)
                if "error" in reply:
                    raise MCPError(reply["error"])
                return reply["result"]
        raise RuntimeError(f"the answer to {method} ended without its response")

    def keep_session_id(self, source: EventSource) -> None:
        """Keep the session ID the server gave (in its answer to initialize)."""
        session_id = source.response.headers.get("mcp-session-id") if source.response else None
        if session_id and "mcp-session-id" not in self.headers:
            self.headers["mcp-session-id"] = session_id

    def notify(self, method: str) -> None:
        """Send a notification (the server answers 202, with no body)."""
        accept = {"Accept": "application/json, text/event-stream"}
        message = {"jsonrpc": "2.0", "method": method}
        self.client.post(self.url, json=message, headers=self.headers | accept).raise_for_status()

    def list_tools(self) -> list[dict[str, Any]]:
        """Every tool, page after page."""
        tools: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.request("tools/list", {"cursor": cursor} if cursor else None)
            tools += page["tools"]
            cursor = page.get("nextCursor")
            if not cursor:
                return tools


def main(url: str) -> None:
    """Open a session, call every tool that needs no arguments, print each outcome."""
    with httpx2.Client() as client:
        session = Session(client, url)
        agreed = session.request("initialize", INITIALIZE)
        session.headers["MCP-Protocol-Version"] = agreed["protocolVersion"]
        session.notify("notifications/initialized")
        for tool in session.list_tools():
            if tool.get("inputSchema", {}).get("required"):
                continue  # it needs arguments we could only guess
            call = {"name": tool["name"], "arguments": {}}
            try:
                line = {"tool": tool["name"], "result": session.request("tools/call", call)}
            except MCPError as exc:
                line = {"tool": tool["name"], "error": exc.error}
            print(json.dumps(line), flush=True)
        # The session is over: let the server forget it (a 405 says it keeps none to end).
        client.delete(url, headers=session.headers)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        from _servers import mcp_server

        with mcp_server() as server:
            main(server.url + "/mcp")
