# Kernel-side half of the bridge, part 5 of 6: the install. This text is never imported by the
# grader: joined with the other parts (grader/bridge/agent.py) it is sent into the student's
# kernel once, before the student's first cell, and installs one callable under a random name
# in builtins. Everything it needs is bound here, at install time, so later patches to json,
# print, torch.save or the user's globals do not reach it. Nothing it sends is trusted by the
# grader: replies are data (JSON + their tensors' raw bytes, or a torch.save blob the grader
# loads with torch.load(weights_only=True)), read by the grader's codec (grader/bridge/codec.py).
#
# The parts: _agent_codec.py (values to and from the grader), _agent_serve.py (the agent that
# serves a request, and the output budget), _agent_notes.py (what each cell left behind, a cell
# run again), _agent_models.py (an nn.Module as data, a model run in batches), this file
# (install, the shell message route),
# _agent_door.py (the agent's own socket).
def __grader_install__(token, output_limit=0, door=None):
    import builtins, sys
    import torch

    ip = get_ipython()  # noqa: F821 - provided by IPython
    user_ns = ip.user_ns
    isinstance_, type_, str_ = isinstance, type, str
    MIME = "application/x-grader-reply+json"
    sinks = []                 # while a request comes through the door: where its answers go
    qualname, encode, decode = __grader_codec__(torch)  # noqa: F821 - _agent_codec.py, joined
    ops = __grader_notes__(ip, torch, token, encode, decode)  # noqa: F821 - _agent_notes.py, joined
    ops.update(__grader_models__(torch, user_ns, qualname, encode, decode))  # noqa: F821 - _agent_models.py
    pack = __grader_pack__(torch)  # noqa: F821 - _agent_codec.py, joined
    agent, budget = __grader_serve__(ip, torch, MIME, sinks, qualname, encode, decode, pack, ops)  # noqa: F821

    if output_limit:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None and hasattr(stream, "parent_header"):
                budget(stream, output_limit)

    setattr(builtins, token, agent)

    # A student's `import grader; grader.check()` cell (their own check while they work) must
    # not fail at grading time, where the grader package is out of the kernel's view.
    try:
        import grader as _grader_pkg  # noqa: F401 - inline.check() does nothing in a grading kernel
    except Exception:
        import types as _types

        stub = _types.ModuleType("grader")

        def check(*_args, **_kwargs):
            print("grader.check() does nothing while your notebook is being graded.")

        stub.check = check
        sys.modules["grader"] = stub

    # Both doors below call the agent as the cell `<token>(op, request)` would (the notebook's
    # globals, then builtins) and report a failure to call it as that cell's error would read.
    def call_by_name(request):
        fn = user_ns[token] if token in user_ns else getattr(builtins, token)
        fn(str_(request.get("op", "")), str_(request.get("request", "")))

    def call_error(exc):
        try:
            evalue = str_(exc)[:2000]
        except BaseException:
            evalue = "<unprintable>"
        if type_(exc) is AttributeError and token in evalue:
            return "NameError", f"name '{token}' is not defined"
        return type_(exc).__name__, evalue

    # The same request as a shell message of its own ("grader_request", content {op, request}),
    # not a cell: the grader's calls skip a cell's machinery (input transformation, compilation,
    # history, execute_input), the most of a request's cost. ipykernel publishes busy/idle around
    # it and turns SIGINT into KeyboardInterrupt while it runs, as for a cell. The agent is
    # called by name (call_by_name): whatever a notebook does to it has the same effect either
    # way. The answer travels as always (display data on iopub); the shell reply only says how
    # the call ended.
    kernel = getattr(ip, "kernel", None)
    handlers = getattr(kernel, "shell_handlers", None)
    session = getattr(kernel, "session", None)
    if isinstance_(handlers, dict) and session is not None:
        send = session.send

        def handle(stream, ident, parent):
            content = {"status": "ok"}
            try:
                call_by_name(parent.get("content") or {})
            except BaseException as exc:
                ename, evalue = call_error(exc)
                content = {"status": "error", "ename": ename, "evalue": evalue, "traceback": []}
            finally:
                send(stream, "grader_reply", content, parent, ident=ident)

        handlers["grader_request"] = handle

    if door:
        try:
            __grader_door__(door, ip, output_limit, MIME, sinks, call_by_name, call_error)  # noqa: F821
        except Exception:
            pass                               # the grader then knocks in vain and uses the shell
