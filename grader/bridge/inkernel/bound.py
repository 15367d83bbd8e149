"""What the agent uses, bound when it is installed, before any student cell.

The agent's text runs once in a namespace of its own (grader/bridge/agent.py): the names bound
here are bound then, so a notebook's later `builtins.isinstance = ...`, `json.dumps = ...` or
`torch.save = ...` does not reach the agent (docs/security.md: shadow_globals).
"""

from __future__ import annotations

import base64
import builtins
import io
import json
import traceback

import torch

isinstance_, type_, repr_, len_, str_, float_ = isinstance, type, repr, len, str, float
int_, bool_, list_, dict_, tuple_, range_ = int, bool, list, dict, tuple, range
id_, hash_, bytearray_ = id, hash, bytearray
dumps, loads = json.dumps, json.loads
b64encode, b64decode = base64.b64encode, base64.b64decode
BytesIO, extract_tb = io.BytesIO, traceback.extract_tb
builtins_ = builtins
Tensor = torch.Tensor
MIME = "application/x-grader-reply+json"  # the grader's codec.MIME
