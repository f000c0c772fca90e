"""Stream an LLM's tokens from an OpenAI-compatible endpoint (POST with a JSON body).

Run: ``python examples/llm_stream.py [BASE_URL]``. Without a URL it starts a local fake.
"""

from __future__ import annotations

import sys

import anyio

from sse_client import AsyncEventSource


class StreamError(Exception):
    """The server reported an error inside the stream."""


async def complete(base_url: str, prompt: str) -> str:
    """Send one chat request and return the generated text, printing tokens as they come."""
    payload = {"model": "demo", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    text = []
    # A POST is not resent after a dropped connection (it would generate again).
    async with AsyncEventSource(
        base_url + "/v1/chat/completions", method="POST", json=payload
    ) as source:
        async for event in source:
            if event.event == "error":
                raise StreamError(event.json()["error"]["message"])
            if event.data == "[DONE]":
                break
            token = event.json()["choices"][0]["delta"].get("content", "")
            print(token, end="", flush=True)
            text.append(token)
    print()
    return "".join(text)


async def main(base_url: str) -> None:
    """Ask twice: once successfully, once with a request the server fails in-band."""
    await complete(base_url, "Say hello")
    try:
        await complete(base_url, "please fail")
    except StreamError as exc:
        print(f"the server said: {exc}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        anyio.run(main, sys.argv[1])
    else:
        from _servers import openai_compatible

        with openai_compatible() as server:
            anyio.run(main, server.url)
