"""Local stand-ins for tests and notebooks: a scripted OpenAI-compatible chat-completions server.

Nothing here talks to a real model. Everything that uses it in a notebook says so in its output.
"""
