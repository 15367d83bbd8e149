"""Feedback rendering with Jinja: an HTML page, Markdown, and terminal text."""

from __future__ import annotations

from grader.feedback.render import render_html, render_markdown, render_text

__all__ = ["render_html", "render_markdown", "render_text"]
