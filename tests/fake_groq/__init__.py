"""The project's own Groq-compatible test server and its scripted answers."""

from tests.fake_groq.responders import AppResponder, ScriptedApp, fenced, xml_blocks
from tests.fake_groq.server import ChatRequest, FakeGroq, Fault, Latency, Reply, fake_tokens

__all__ = [
    "AppResponder",
    "ChatRequest",
    "FakeGroq",
    "Fault",
    "Latency",
    "Reply",
    "ScriptedApp",
    "fake_tokens",
    "fenced",
    "xml_blocks",
]
