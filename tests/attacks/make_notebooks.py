"""Write the attack notebooks of tests/attacks/notebooks/, one per attack, named for it.

    python tests/attacks/make_notebooks.py        # rewrites every notebook from the table below

Each notebook is a submission to tests/fixtures/assignments/mini (exercises `activation`,
a sigmoid, and `reshape_weights`, a view). An attack comes with answers whose verdict is known
in advance, so a test can tell both that the attack failed and that grading went on.

A cell that wants the test to know what it saw raises RuntimeError("REPORT {json}"): the
verdict records the message of a failing cell, and the test reads it from there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).parent
OUT = HERE / "notebooks"

IMPORTS = "import torch"
RIGHT_ACTIVATION = "def activation(x):\n    return 1 / (1 + torch.exp(-x))"
RIGHT_RESHAPE = "def reshape_weights(w, rows, cols):\n    return w.view(rows, cols)"
# wrong values with the right shape and dtype: only a comparison can catch them
WRONG_ACTIVATION = "def activation(x):\n    return torch.relu(x)"
WRONG_RESHAPE = "def reshape_weights(w, rows, cols):\n    return w.flip(0).view(rows, cols)"

# -- "No false pass": patches of the comparison machinery ---------------------------------

PATCH_ALLCLOSE = """\
torch.allclose = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
assert torch.allclose(activation(torch.ones(3)), torch.sigmoid(torch.ones(3)))"""

PATCH_TENSOR_EQ = """\
torch.Tensor.__eq__ = lambda self, other: torch.ones(self.shape, dtype=torch.bool)
torch.Tensor.__ne__ = lambda self, other: torch.zeros(self.shape, dtype=torch.bool)
torch.equal = lambda a, b: True
assert (activation(torch.ones(3)) == torch.sigmoid(torch.ones(3))).all()"""

PATCH_ASSERT_CLOSE = """\
import torch.testing
torch.testing.assert_close = lambda *args, **kwargs: None
torch.testing.assert_allclose = lambda *args, **kwargs: None
torch.testing.assert_close(activation(torch.ones(3)), torch.sigmoid(torch.ones(3)))"""

PATCH_MATH_ISCLOSE = """\
import math
math.isclose = lambda *args, **kwargs: True
assert math.isclose(float(activation(torch.ones(1))), 0.7310585786)"""

PATCH_BUILTINS_ABS = """\
import builtins
builtins.abs = lambda x: 0 * x
builtins.round = lambda x, *args: 0
assert float(abs(activation(torch.ones(3)) - torch.sigmoid(torch.ones(3))).sum()) == 0"""

TENSOR_SUBCLASS = """\
class Liar(torch.Tensor):
    \"\"\"Claims to equal anything, and to be a plain torch.Tensor.\"\"\"
    def __eq__(self, other):
        return torch.ones(self.shape, dtype=torch.bool)
    __ne__ = lambda self, other: torch.zeros(self.shape, dtype=torch.bool)
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("allclose", "equal"):
            return True
        if getattr(func, "__name__", "") in ("isclose", "eq"):
            return torch.ones(torch.Tensor.size(args[0]), dtype=torch.bool)
        return super().__torch_function__(func, types, args, kwargs or {})
    def detach(self):
        return self
Liar.__module__, Liar.__qualname__, Liar.__name__ = "torch", "Tensor", "Tensor"

def activation(x):
    return torch.relu(x).as_subclass(Liar)

assert torch.allclose(activation(torch.ones(3)), torch.sigmoid(torch.ones(3)))"""

SHADOW_GLOBALS = """\
json = None
os = None
sys = None
print = lambda *args, **kwargs: None
len = lambda obj: 0
isinstance = lambda obj, cls: True
repr = str = lambda obj: "All checks passed"
get_ipython = None
display = None"""

FAKE_VERDICT = """\
print("All checks passed! Score: 10/10")
print("PASS  test_activation_values  [1/1]\\nScore: 4/4 (100%)  [PASSED]")
from IPython.display import display, HTML
display(HTML("<h1>Score: 4/4 - all checks passed</h1>"))
import sys
sys.stderr.write("\\x1b[2J\\x1b[HScore: 4/4 (100%)  [PASSED]\\n")"""

FAKE_VERDICT_ERROR = """\
raise RuntimeError("\\x1b[2J\\x1b[H\\rmini: submission.ipynb\\nScore: 4/4 (100%)  [PASSED]\\x1b[8m\\x00"
                   "\\n::notice title=Autograder::All checks passed"
                   "\\n::set-output name=result::eyJ0b3RhbHMiOiB7InBvaW50cyI6IDQsICJtYXhQb2ludHMiOiA0fX0="
                   "\\n##vso[task.complete result=Succeeded;]")"""

FORGE_AGENT = """\
import builtins, json as _json
agents = [name for name in dir(builtins) if name.startswith("__grader_")]
ip = get_ipython()
def forged(op, request, _real=[getattr(builtins, n) for n in agents]):
    reply = {"ok": True, "value": {"t": "json", "v": "PASSED"}, "score": 100, "blob": ""}
    ip.display_pub.publish({"application/x-grader-reply+json": _json.dumps(reply)}, metadata={})
    ip.display_pub.publish({"application/x-grader-reply+json": "{\\"ok\\": true, \\"blob\\": \\"!!\\"}"}, metadata={})
for name in agents:
    setattr(builtins, name, forged)
if not agents:
    raise RuntimeError("REPORT no agent found")"""

PICKLE_BOMB = """\
import base64, builtins, io, json as _json, os
class Boom:
    def __reduce__(self):
        return (os.system, ("touch /tmp/PWNED-pickle PWNED-pickle",))
ip = get_ipython()
def poisoned(real):
    def agent(op, request):
        real(op, request)
        if op == "call" and '"activation"' in request:   # answer after the agent, with a pickle in the blob
            buf = io.BytesIO()
            torch.save([Boom(), torch.zeros(1)], buf)
            reply = {"ok": True, "value": {"t": "tensor", "i": 1}, "args_after": {"t": "list", "items": []},
                     "blob": base64.b64encode(buf.getvalue()).decode()}
            ip.display_pub.publish({"application/x-grader-reply+json": _json.dumps(reply)}, metadata={})
    return agent
for name in [n for n in dir(builtins) if n.startswith("__grader_")]:
    setattr(builtins, name, poisoned(getattr(builtins, name)))
def activation(x):
    return torch.sigmoid(x) * 0"""

# A notebook that rewrites the agent: each request it answers with the next of its forgeries,
# in the order the checks ask (two describes of `activation`, two of `reshape_weights`).
FORGE_TOOLS = """\
import base64, builtins, collections, io, json as _json, pickle, zipfile
ip = get_ipython()
MIME = "application/x-grader-reply+json"

def forged_reply(value, blob=b""):
    return _json.dumps({"ok": True, "value": value, "args_after": {"t": "list", "items": []},
                        "blob": base64.b64encode(blob).decode()})

class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel

class Rebuild:                      # a tensor of any shape and stride over a storage
    def __init__(self, *args):
        self.args = args
    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)

class Call:                         # anything torch.load(weights_only=True) would call
    def __init__(self, func, *args):
        self.func, self.args = func, args
    def __reduce__(self):
        return (self.func, self.args)

class Index(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel) if isinstance(obj, Storage) else None

def archive(index, records, compress=zipfile.ZIP_STORED):
    pickled = io.BytesIO()
    Index(pickled, protocol=2).dump(index)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compresslevel=1) as z:
        z.writestr("archive/data.pkl", pickled.getvalue())
        z.writestr("archive/byteorder", b"little")
        for key, data in records.items():
            z.writestr(f"archive/data/{key}", data, compress_type=compress)
        z.writestr("archive/version", b"3\\n")
    return out.getvalue()

def install(forgeries):
    count = [0]
    def forged(op, request):
        count[0] += 1
        ip.display_pub.publish({MIME: forgeries[(count[0] - 1) % len(forgeries)]}, metadata={})
    agents = [name for name in dir(builtins) if name.startswith("__grader_")]
    for name in agents:
        setattr(builtins, name, forged)
    if not agents:
        raise RuntimeError("REPORT no agent found")"""

FORGE_HOSTILE_REPLIES = """\
trillion = Rebuild(Storage("0", 1), 0, (10 ** 12,), (0,), False, collections.OrderedDict())
install([
    forged_reply({"t": "npscalar", "dtype": "V1000000000", "v": {"t": "json", "v": 0}}),   # a 1 GB scalar
    '{"ok": true, "blob": "", "value": ' + "[" * 200000 + "]" * 200000 + "}",             # nested 200,000 deep
    forged_reply({"t": "json", "v": "x" * (32 * 1024 * 1024)}),                             # a 32 MB string
    forged_reply({"t": "tensor", "i": 0}, archive([trillion], {"0": bytes(4)})),            # 4 bytes claiming 4 TB
])"""

FORGE_HOSTILE_BLOBS = """\
one = Rebuild(Storage("0", 1), 0, (1,), (1,), False, collections.OrderedDict())
bomb = Rebuild(Storage("0", 2 ** 26), 0, (2 ** 26,), (1,), False, collections.OrderedDict())
saved = io.BytesIO()
torch.save([torch.ones(3)], saved)
legacy = io.BytesIO()
torch.save([torch.ones(3)], legacy, _use_new_zipfile_serialization=False)
install([
    forged_reply({"t": "tensor", "i": 0}, archive([bomb], {"0": bytes(2 ** 28)}, zipfile.ZIP_DEFLATED)),  \
# 256 MB deflated
    forged_reply({"t": "tensor", "i": 1}, archive([Call(bytearray, 2 ** 40), one], {"0": bytes(4)})),    \
# bytearray(1 TB)
    forged_reply({"t": "tensor", "i": 0}, saved.getvalue()[:len(saved.getvalue()) // 2]),             # cut in half
    forged_reply({"t": "tensor", "i": 0}, legacy.getvalue()),                                         # not a zip
])"""

# -- "Faults cost only what they touch" ---------------------------------------------------

ENDLESS_CELL = "while True:\n    pass"
ENDLESS_FUNCTION = """\
import signal
def activation(x):
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # interrupts are ignored
    while True:
        try:
            pass
        except BaseException:
            pass"""
OS_EXIT = "import os\nos._exit(3)"
KILL_SELF = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
KILL_PARENT = """\
import os, signal
errors = []
for target in (os.getppid(), 1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError as exc:
        errors.append(f"{target}: {exc}")
os.kill(os.getppid(), signal.SIGTERM)
raise RuntimeError("REPORT " + "; ".join(errors))"""
MEMORY_HOG = """\
hog = []
while True:
    hog.append(bytearray(256 * 1024 * 1024))"""
MEMORY_HOG_TORCH = "big = torch.ones(64 * 1024 ** 3, dtype=torch.uint8)"
INPUT_CALL = "name = input('What is your name? ')"
OUTPUT_FLOOD = """\
for _ in range(50):
    print("x" * (1024 * 1024 - 1))"""
OUTPUT_FLOOD_STDERR = """\
import os
os.write(2, b"e" * (8 * 1024 * 1024))
os.write(1, b"o" * (8 * 1024 * 1024))"""
FLOOD_ACTIVATION = """\
def activation(x):
    print("y" * (20 * 1024 * 1024))
    return 1 / (1 + torch.exp(-x))"""
FLOOD_ERROR = 'raise ValueError("z" * (10 * 1024 * 1024))'
FORK_BOMB = """\
import os, subprocess
started, refused = 0, 0
for _ in range(400):
    try:
        subprocess.Popen(["sleep", "987654"])
        started += 1
    except OSError:
        refused += 1
raise RuntimeError(f"REPORT started={started} refused={refused}")"""
FORK_BOMB_FORKS = """\
import os, time
if os.fork() == 0:                      # a fork bomb that keeps the process table full
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.5)"""
DAEMONS = """\
import os, subprocess
subprocess.Popen(["sleep", "987655"], start_new_session=True)
subprocess.Popen(["sh", "-c", "(setsid sleep 987656 &) ; true"])
subprocess.Popen(["env", "-i", "/bin/sleep", "987657"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:                      # a classic double-fork daemon with a clean environment
    os.setsid()
    if os.fork() == 0:
        os.execve("/bin/sleep", ["sleep", "987658"], {})
    os._exit(0)"""

# -- Isolation: what the kernel can see and reach ----------------------------------------

ISOLATION_PROBE = r"""
import glob, json, os, signal, socket, sys
report = {"uid": os.getuid(), "pid": os.getpid(), "ppid": os.getppid()}
checkout = os.path.dirname(sys.prefix)            # a venv made in the checkout: its parent is the course
report["checkout"] = checkout
secrets = ["solutions", "assignments", "tests", "grader", ".git", "tests/attacks/SENTINEL.txt",
           "tests/fixtures/assignments/mini/checks/test_activation.py", "gradebook.csv"]
report["seen"] = [s for s in secrets if os.path.exists(os.path.join(checkout, s))]
report["checks_found"] = glob.glob("/**/test_activation.py", recursive=False) + \
    [p for p in glob.glob("/*/*/*/checks") + glob.glob("/*/*/checks") + glob.glob("/*/checks")]
# write into every folder worth a try
targets = ["/", "/tmp", "/var/tmp", "/root", "/home", "/etc", "/usr", "/work", checkout,
           os.path.join(checkout, "grader"), os.path.join(checkout, "tests"), os.path.join(checkout, "tests/attacks"),
           sys.prefix, os.path.dirname(os.getcwd()), os.getcwd(), os.path.expanduser("~")]
written = []
for folder in targets:
    try:
        with open(os.path.join(folder, "PWNED-isolation.txt"), "w") as fh:
            fh.write("pwned")
        written.append(folder)
    except OSError:
        pass
report["written"] = written
for path in (os.path.join(checkout, "tests/attacks/SENTINEL.txt"), os.path.join(checkout, "grader/__init__.py")):
    try:
        with open(path, "a") as fh:
            fh.write("\n# PWNED-isolation\n")
        report.setdefault("appended", []).append(path)
    except OSError:
        pass
# the network: the host's loopback (where the test listens), other local services, the internet
connected, errors = [], set()
for host, port in [("127.0.0.1", p) for p in list(range(47011, 47021)) + [22, 80, 443, 8888]] + \
                  [("1.1.1.1", 53), ("8.8.8.8", 53), ("10.0.0.1", 80)]:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        connected.append(f"{host}:{port}")
    except OSError as exc:
        errors.add(type(exc).__name__ + ":" + str(exc.errno))
report["connected"], report["net_errors"] = connected, sorted(errors)
try:
    socket.getaddrinfo("example.com", 80)
    report["dns"] = True
except OSError:
    report["dns"] = False
# the grader and every other process
report["procs"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
signalled, own = [], {int(t) for t in os.listdir("/proc/self/task")}   # kill() takes thread ids too
for pid in range(1, 400):
    if pid in own:
        continue
    try:
        os.kill(pid, 0)
        signalled.append(pid)
    except OSError:
        pass
report["signalable"] = signalled
report["tmp"] = sorted(os.listdir("/tmp"))
raise RuntimeError("REPORT " + json.dumps(report))
""".strip()

SECRETS_FILES = r"""
import os, json
found = {}
for path in ["/etc/shadow", "/root/.ssh", "/root/.bash_history", "/proc/1/environ", "/proc/1/cmdline",
             "/var/run/docker.sock", "/run/docker.sock", "/sys/kernel", "/dev/sda", "/dev/mem", "/home"]:
    try:
        if os.path.isdir(path):
            found[path] = os.listdir(path)[:5]
        else:
            with open(path, "rb") as fh:
                found[path] = fh.read(64).decode("latin-1")
    except OSError as exc:
        pass
found["env"] = dict(os.environ)
raise RuntimeError("REPORT " + json.dumps(found))
""".strip()


BIG_FILE = """\
import os
with open(os.path.expanduser("~/big.bin"), "wb") as fh:
    fh.write(bytes(64 * 1024 * 1024))"""

LIMITS_REPORT = """\
import json, resource
limits = {}
for name in ("as", "data", "nproc", "fsize", "cpu", "core"):
    soft = resource.getrlimit(getattr(resource, "RLIMIT_" + name.upper()))[0]
    limits[name] = soft if soft >= 0 else 2 ** 63
raise RuntimeError("REPORT " + json.dumps(limits))"""


NOTEBOOKS: dict[str, list[str]] = {
    # false passes: a wrong activation next to a right reshape_weights, with one patch each
    "patch_allclose": [IMPORTS, WRONG_ACTIVATION, RIGHT_RESHAPE, PATCH_ALLCLOSE],
    "patch_tensor_eq": [IMPORTS, WRONG_ACTIVATION, RIGHT_RESHAPE, PATCH_TENSOR_EQ],
    "patch_assert_close": [IMPORTS, WRONG_ACTIVATION, RIGHT_RESHAPE, PATCH_ASSERT_CLOSE],
    "patch_math_isclose": [IMPORTS, WRONG_ACTIVATION, RIGHT_RESHAPE, PATCH_MATH_ISCLOSE],
    "patch_builtins_abs": [IMPORTS, WRONG_ACTIVATION, RIGHT_RESHAPE, PATCH_BUILTINS_ABS],
    "tensor_subclass_claims_equality": [IMPORTS, RIGHT_RESHAPE, TENSOR_SUBCLASS],
    "shadow_globals": [IMPORTS, WRONG_ACTIVATION, RIGHT_RESHAPE, SHADOW_GLOBALS],
    "fake_passing_verdict": [IMPORTS, WRONG_ACTIVATION, WRONG_RESHAPE, FAKE_VERDICT, FAKE_VERDICT_ERROR],
    "forge_agent_reply": [IMPORTS, WRONG_ACTIVATION, WRONG_RESHAPE, FORGE_AGENT],
    "pickle_payload": [IMPORTS, PICKLE_BOMB, RIGHT_RESHAPE],
    # malformed and over-budget replies: right answers, every check fails on the reply it gets
    "forge_hostile_replies": [IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, FORGE_TOOLS, FORGE_HOSTILE_REPLIES],
    "forge_hostile_blobs": [IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, FORGE_TOOLS, FORGE_HOSTILE_BLOBS],
    "all_patches_wrong": [
        IMPORTS,
        WRONG_ACTIVATION,
        WRONG_RESHAPE,
        PATCH_ALLCLOSE,
        PATCH_TENSOR_EQ,
        PATCH_ASSERT_CLOSE,
        PATCH_MATH_ISCLOSE,
        PATCH_BUILTINS_ABS,
        SHADOW_GLOBALS,
        FAKE_VERDICT,
    ],
    "all_patches_right": [
        IMPORTS,
        RIGHT_ACTIVATION,
        RIGHT_RESHAPE,
        PATCH_ALLCLOSE,
        PATCH_TENSOR_EQ,
        PATCH_ASSERT_CLOSE,
        PATCH_MATH_ISCLOSE,
        PATCH_BUILTINS_ABS,
        SHADOW_GLOBALS,
        FAKE_VERDICT,
    ],
    # faults: the attack sits between right answers, which must still be graded
    "endless_cell": [IMPORTS, RIGHT_ACTIVATION, ENDLESS_CELL, RIGHT_RESHAPE],
    "endless_function_ignores_interrupt": [IMPORTS, ENDLESS_FUNCTION, RIGHT_RESHAPE],
    "kernel_os_exit": [IMPORTS, RIGHT_ACTIVATION, OS_EXIT, RIGHT_RESHAPE],
    "kernel_kill_self": [IMPORTS, RIGHT_ACTIVATION, KILL_SELF, RIGHT_RESHAPE],
    "kernel_kill_parent": [IMPORTS, RIGHT_ACTIVATION, KILL_PARENT, RIGHT_RESHAPE],
    "memory_hog": [IMPORTS, RIGHT_ACTIVATION, MEMORY_HOG, MEMORY_HOG_TORCH, RIGHT_RESHAPE],
    "input_call": [IMPORTS, RIGHT_ACTIVATION, INPUT_CALL, RIGHT_RESHAPE],
    "output_flood": [IMPORTS, OUTPUT_FLOOD, OUTPUT_FLOOD_STDERR, FLOOD_ACTIVATION, FLOOD_ERROR, RIGHT_RESHAPE],
    "fork_bomb": [IMPORTS, RIGHT_ACTIVATION, FORK_BOMB_FORKS, FORK_BOMB, RIGHT_RESHAPE],
    "daemon_processes": [IMPORTS, RIGHT_ACTIVATION, DAEMONS, RIGHT_RESHAPE],
    # isolation: what the kernel sees, writes and reaches
    "escape_filesystem_network_signals": [IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, ISOLATION_PROBE],
    "read_host_secrets": [IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, SECRETS_FILES],
    "limits_from_toml": [IMPORTS, RIGHT_ACTIVATION, RIGHT_RESHAPE, BIG_FILE, LIMITS_REPORT],
}


# -- error carried forward: submissions to neural-net-basics (notebooks/neural-net-basics/) -------

NNB_WRONG_ACTIVATION = "def activation(x):\n    return 1 / (1 + torch.exp(x))      # the sign flipped"
NNB_REST = """\
def reshape_weights(weights):
    return weights.view(-1, 1)


def single_neuron(features, weights, bias):
    return activation(torch.mm(features, reshape_weights(weights)) + bias)"""
# two_layer_forward is right; while `activation` is not the notebook's own (the grader's stand-in) it
# reads everything the stand-in holds: its source, code, globals, closure, what those hold in turn,
# every function and module of the process. Anything from the grader's checks makes it raise with
# what it found (the check then fails and says so); nothing found: it answers, and may earn credit.
PROBE_THE_STANDIN = r'''
import gc, inspect, json, sys, types
OWN_ACTIVATION = activation
MARKERS = ("Reference, computed in float64", "test_activation", "/checks/", "solutions", "@reference")


def _texts_of(fn):
    """Every text a function gives away: source, code constants and names, docstring, file."""
    out = [repr(fn), str(getattr(fn, "__doc__", "")), str(getattr(fn, "__module__", ""))]
    try:
        out.append(inspect.getsource(fn))
    except (OSError, TypeError):
        pass
    code = getattr(fn, "__code__", None)
    if code is not None:
        out += [code.co_filename, code.co_name, *map(repr, code.co_consts), *code.co_names]
    return out


def probe(standin):
    texts = _texts_of(standin)
    cells = [c.cell_contents for c in (standin.__closure__ or ())]
    texts += [repr(c)[:2000] for c in cells]
    for value in cells + list(standin.__globals__.values()):
        if callable(value):
            texts += _texts_of(value)
            for cell in getattr(value, "__closure__", None) or ():
                inner = cell.cell_contents
                texts += _texts_of(inner) if callable(inner) else [repr(inner)[:2000]]
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType):
            texts.append(obj.__code__.co_filename)
    texts += [str(getattr(m, "__file__", "")) for m in list(sys.modules.values())]
    found = sorted({m for m in MARKERS for t in texts if m in t})
    if found:
        raise RuntimeError("FOUND " + json.dumps(found))
    return len(texts)


def two_layer_forward(features, W1, B1, W2, B2):
    if activation is not OWN_ACTIVATION:       # the grader's stand-in
        PROBED.append(probe(activation))
    hidden = activation(torch.mm(features, W1) + B1)
    return activation(torch.mm(hidden, W2) + B2)


PROBED = []
'''

NNB_NOTEBOOKS: dict[str, list[str]] = {
    "probe_the_standin": [IMPORTS, NNB_WRONG_ACTIVATION, NNB_REST, PROBE_THE_STANDIN],
}


def build(name: str, sources: list[str], slug: str = "mini") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["grader"] = {"slug": slug, "attack": name}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# Attack: {name.replace('_', ' ')}")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def main() -> int:
    for folder, slug, table in (
        (OUT, "mini", NOTEBOOKS),
        (OUT / "neural-net-basics", "neural-net-basics", NNB_NOTEBOOKS),
    ):
        folder.mkdir(exist_ok=True)
        for name, sources in table.items():
            nb = build(name, sources, slug)
            for i, cell in enumerate(nb.cells):
                cell["id"] = f"{name[:40]}-{i}"  # stable ids: regenerating changes nothing
            nbformat.write(nb, str(folder / f"{name}.ipynb"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
