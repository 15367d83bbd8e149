"""A notebook's nn.Module as data, and a model run over many inputs (the agent's "module" and
"evaluate" ops, grader/bridge/inkernel/models.py).

    info = nb.module("model")          # ModuleInfo: class, parameters (name, shape, dtype,
    info.count, info.shapes            #   requires_grad), their count, training flag, text
    scores = evaluate(nb.model, X, batch_size=128)   # eval(), no_grad, on the grading device

What the kernel says is untrusted: the codec reads it as data, and this module accepts only
the shapes it expects (a reply of another form fails the check, in words). Nothing is judged here;
checks judge (grader/checks/models.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grader.bridge.outgoing import call_request, encode_arguments
from grader.failures import CallTimeout, CheckFailed

if TYPE_CHECKING:
    from grader.nb.calls import AgentBridge

MAX_PARAMETERS = 10_000  # rows of a module's parameter list kept


@dataclass(frozen=True)
class Parameter:
    """One parameter of a module, as `named_parameters()` gives it."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    requires_grad: bool

    @property
    def numel(self) -> int:
        count = 1
        for size in self.shape:
            count *= size
        return count


@dataclass(frozen=True)
class ModuleInfo:
    """What a check may know of a notebook's nn.Module without running it."""

    name: str  # the notebook's name for it
    type: str  # its class, qualified ("__main__.DigitNet")
    parameters: tuple[Parameter, ...]
    training: bool  # its training flag as the notebook left it
    text: str = ""  # str(module), cut short: its layers as PyTorch prints them

    @property
    def count(self) -> int:
        """The number of parameters (elements), as `sum(p.numel() for p in model.parameters())`."""
        return sum(p.numel for p in self.parameters)

    @property
    def trainable(self) -> int:
        return sum(p.numel for p in self.parameters if p.requires_grad)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter name -> shape, in the module's order ({"fc1.weight": (32, 64), ...})."""
        return {p.name: p.shape for p in self.parameters}


def _parameter(row: Any) -> Parameter:
    if not (
        isinstance(row, list)
        and len(row) == 4
        and isinstance(row[0], str)
        and isinstance(row[1], list)
        and all(type(s) is int and s >= 0 for s in row[1])
        and isinstance(row[2], str)
        and isinstance(row[3], bool)
    ):
        raise ValueError("a parameter row is not [name, shape, dtype, requires_grad]")
    return Parameter(row[0][:300], tuple(row[1]), row[2][:40], row[3])


def _module_info(name: str, value: Any) -> ModuleInfo:
    if not isinstance(value, dict) or not isinstance(value.get("parameters"), list):
        raise ValueError("not a module description")
    rows = value["parameters"][:MAX_PARAMETERS]
    return ModuleInfo(
        name=name,
        type=str(value.get("type", ""))[:200],
        parameters=tuple(_parameter(r) for r in rows),
        training=value.get("training") is True,
        text=str(value.get("text", ""))[:2000],
    )


def module_info(bridge: "AgentBridge", name: str) -> ModuleInfo:
    """The notebook's `name` as a ModuleInfo; a name that is missing or not an nn.Module fails the check."""
    reply, output, _ = bridge.request("module", {"name": name}, what=f"reading the module `{name}`")
    if reply.get("missing"):
        raise bridge.missing(name)
    if reply.get("notmodule"):
        raise CheckFailed(
            f"`{name}` in your notebook is a {str(reply['notmodule'])[:200]}, not a torch.nn.Module. "
            f"Make `{name}` an instance of your network class: `{name} = YourNet(...)`.",
            name=name,
        )
    if not reply.get("ok"):
        bridge.raise_student_error(name, reply, output, (), bridge.call_timeout)
    try:
        return _module_info(name, bridge.value_of(reply))
    except ValueError as exc:
        raise CheckFailed(f"the kernel's description of `{name}` could not be read as data ({exc})") from None


def evaluate(model: Any, inputs: Any, *, batch_size: int = 256) -> Any:
    """`model`'s outputs for every row of `inputs`, run in batches of `batch_size` in eval() mode and
    under torch.no_grad(), as one tensor on the CPU in the grader.

    `model` is a notebook's model (`nb.model`: run in the kernel, on the grading device, the
    module's training flag put back after) or a callable of the grader's own (run here)."""
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    bridge, name = getattr(model, "bridge", None), getattr(model, "name", None)
    if bridge is None or not isinstance(name, str):
        return _evaluate_here(model, inputs, batch_size)
    left = bridge.time_left()
    if left <= 0:
        raise CallTimeout(f"`{name}` was not run: the submission used up its total time for grading.")
    enc_args, enc_kwargs, tensors = encode_arguments((inputs,), {})
    req = call_request(name, enc_args, enc_kwargs, tensors, bridge.device) | {"batch_size": int(batch_size)}
    timeout = min(bridge.call_timeout, left)
    reply, output, _ = bridge.request("evaluate", req, timeout=timeout, what=f"`{name}`")
    if reply.get("missing"):
        raise bridge.missing(name)
    if reply.get("notcallable"):
        raise CheckFailed(f"`{name}` in your notebook is a {str(reply['notcallable'])[:200]}, not a model.", name=name)
    if not reply.get("ok"):
        bridge.raise_student_error(name, reply, output, (inputs[:batch_size],), timeout)
    if reply.get("notensor"):
        raise CheckFailed(
            f"`{name}(x)` returned a {str(reply['notensor'])[:200]}, not a tensor: its forward must "
            "return the scores as one torch.Tensor.",
            name=name,
        )
    if reply.get("shapes") is not None:
        raise CheckFailed(
            f"`{name}(x)` returned outputs of different shapes for batches of inputs "
            f"({str(reply['shapes'])[:200]}): it must return one row per input.",
            name=name,
        )
    value = bridge.value_of(reply)
    if not isinstance(value, torch.Tensor):
        raise CheckFailed(f"the kernel's reply for `{name}` could not be read as data (not a tensor)")
    return value


def _evaluate_here(model: Any, inputs: Any, batch_size: int) -> Any:
    import torch

    was = getattr(model, "training", None)
    if isinstance(model, torch.nn.Module):
        model.eval()
    try:
        with torch.no_grad():
            return torch.cat(
                [model(inputs[i : i + batch_size]).detach().cpu() for i in range(0, len(inputs), batch_size)]
            )
    finally:
        if isinstance(model, torch.nn.Module) and was is not None:
            model.train(was)
