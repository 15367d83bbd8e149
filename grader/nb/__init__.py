"""The notebook as checks see it: the `nb` proxy and what it hands back, over the bridge.

calls.py: AgentBridge, the requests (read a name, call a function) and how their failures read;
proxy.py: the `nb` proxy (Notebook) and CellBridge, which also finds cells; kernel.py: Bridge,
a grading kernel through its Runner; cellfind.py, cellcode.py, cells.py, answers.py,
sections.py: finding an answer cell, reading its source, what its run left, a cell run again,
the cells under one heading; models.py: an nn.Module as data and a model run in batches;
explain.py: a student's error in their own terms. It imports grader.bridge (the wire) and is
never imported by it. Authors import what they use from grader.checks.
"""
