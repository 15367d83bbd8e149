"""The warm server behind `grader check`: one per user, grader version and assignment.

`client.py` is what `grader check` runs first (cheap: no torch); `server.py` is the detached
process that keeps torch, the zygote, pytest and the templates loaded and grades each request
in a fresh fork of itself; `identity.py` names a server (user, grader sources, the
assignment's checks, the environment) and owns its folder; `wire.py` is the socket protocol.
"""
