"""A notebook's nn.Module as data, and a model run over many inputs: two ops for the agent.

"module"    {"name"} -> the module's class, training flag, text (cut short) and parameters,
            [[name, shape, dtype, requires_grad], ...]: plain JSON, judged in the grader
"evaluate"  {"name", "args": [inputs], "batch_size", "device"} -> the outputs of
            model(inputs[i:i + batch_size]) for every batch, concatenated on the CPU; run in
            eval() and under torch.no_grad(), on the grading device (a module whose
            parameters are elsewhere is moved there for the run and back after), in the
            student's own world (their builtins), their error reported as data.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from grader.bridge.inkernel.bound import Tensor, bool_, int_, isinstance_, len_, list_, range_, str_
from grader.bridge.inkernel.values import decode, encode, qualname

TorchModule, no_grad, cat, device_of = torch.nn.Module, torch.no_grad, torch.cat, torch.device
MODULE_TEXT = 2000


class Models:
    """The "module" and "evaluate" ops over the notebook's namespace."""

    def __init__(self, user_ns: dict[str, Any]) -> None:
        self.user_ns = user_ns

    def ops(self) -> dict[str, Callable[..., dict[str, Any]]]:
        return {"module": self.module, "evaluate": self.evaluate}

    def found(self, req: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        name = req["name"]
        if name not in self.user_ns:
            return None, {"ok": True, "missing": True}
        return self.user_ns[name], None

    def module(self, req: dict[str, Any], tensors: list[Any], sent: list[Any], student: Any) -> dict[str, Any]:
        obj, missing = self.found(req)
        if missing:
            return missing
        if not isinstance_(obj, TorchModule):
            return {"ok": True, "notmodule": qualname(obj)}
        info: dict[str, Any] = {"type": qualname(obj), "parameters": [], "training": True, "text": ""}

        def run() -> None:
            rows = info["parameters"]
            for name, p in obj.named_parameters():
                rows.append(
                    [
                        str_(name),
                        [int_(s) for s in p.shape],
                        str_(p.dtype).replace("torch.", ""),
                        bool_(p.requires_grad),
                    ]
                )
            info["training"] = bool_(obj.training)
            info["text"] = str_(obj)[:MODULE_TEXT]

        failed = student(run)
        if failed is not None:
            return failed  # type: ignore[no-any-return]
        return {"ok": True, "value": encode(info, tensors)}

    def evaluate(self, req: dict[str, Any], tensors: list[Any], sent: list[Any], student: Any) -> dict[str, Any]:
        model, missing = self.found(req)
        if missing:
            return missing
        if not callable(model):
            return {"ok": False, "notcallable": qualname(model)}
        inputs = decode(req["args"], sent, "cpu")[0]
        size, device = max(1, int_(req["batch_size"])), str_(req["device"])
        outputs: list[Any] = []
        failed = student(lambda: _run_batches(model, inputs, size, device, outputs))
        if failed is not None:
            return failed  # type: ignore[no-any-return]
        wrong = [o for o in outputs if not isinstance_(o, Tensor)]
        if wrong:
            return {"ok": True, "notensor": qualname(wrong[0]), "batches": len_(outputs)}
        shapes = [list_(o.shape) for o in outputs]
        if any(len_(s) == 0 or s[1:] != shapes[0][1:] for s in shapes):
            return {"ok": True, "shapes": shapes[:5]}
        value = cat(outputs) if outputs else torch.zeros(0)
        return {"ok": True, "value": encode(value, tensors)}


def _place(model: Any, device: str) -> Any:
    """Where the module's parameters are, when that is not the grading device (else None)."""
    first = next(iter(model.parameters()), None)
    if first is None or first.device.type == device_of(device).type:
        return None
    return first.device


def _run_batches(model: Any, inputs: Any, size: int, device: str, outputs: list[Any]) -> None:
    """model(inputs[i:i + size]) for each batch, in eval() and without grad, on `device`; the
    module's training flag and place are put back after."""
    is_module = isinstance_(model, TorchModule)
    was = bool_(model.training) if is_module else False
    home = _place(model, device) if is_module else None
    try:
        if is_module:
            if home is not None:
                model.to(device)
            model.eval()
        with no_grad():
            for start in range_(0, len_(inputs), size):
                out = model(inputs[start : start + size].to(device))
                outputs.append(out.detach().cpu() if isinstance_(out, Tensor) else out)
    finally:
        if is_module:
            model.train(was)
            if home is not None:
                model.to(home)
