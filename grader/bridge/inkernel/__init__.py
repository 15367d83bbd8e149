"""The agent, kernel side: ordinary modules the grader never runs, sent into a kernel as one text.

grader/bridge/agent.py joins them (in AGENT_MODULES order, their imports of one another left
out: joined, they share one namespace) into the text a kernel compiles once, in a namespace of
its own, before any student cell; `install(token, output_limit, door)` (install.py) installs
the agent. They are valid Python on their own, linted and type-checked like the rest of the
grader, and the tests import them to make real replies.

    bound.py    the builtins and library functions the agent uses, bound when it is installed
    values.py   values encoded for the grader, a call's arguments decoded, a reply's tensors packed
    serve.py    the agent: a request served (a call, a name, Out[n], the devices), the output budget
    notes.py    what each cell left behind, and a cell run again
    models.py   an nn.Module as data, a model run in batches
    door.py     the agent's own socket (its grader side: grader/bridge/door.py)
    install.py  the install, and the shell message route
"""
