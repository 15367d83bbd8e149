"""The wire between the grader and a kernel, and nothing else: the trust boundary.

What goes into the kernel: the agent's source (agent.py, joined from the modules of inkernel/
and sent as text) and a request's values and tensors (outgoing.py). What comes back: replies
read as data by the codec (codec.py; what a reply may hold, budget.py; its tensors from raw
bytes, incoming_raw.py, or from one vetted torch.save blob, incoming_blob.py; the door's frames,
door_frames.py). The ways a request reaches the agent: routes.py (a shell message, a cell) and
door.py (the agent's own socket).

What checks read through the wire (the `nb` proxy, cells, sections, models) is grader.nb, which
imports this package and is never imported by it; the names authors use are in grader.checks.
"""
