# Kernel-side half of the bridge, part 4 of 6: a notebook's nn.Module as data, and a model run
# over many inputs. Sent into the kernel as text with the other parts (see
# grader/bridge/agent.py), never imported. Called once, at install time: everything it uses is
# bound then. Two ops for the agent (each handler(request, tensors, sent, student) -> payload):
#
#   "module"    {"name"} -> the module's class, training flag, text (cut short) and parameters,
#               [[name, shape, dtype, requires_grad], ...]: plain JSON, judged in the grader
#   "evaluate"  {"name", "args": [inputs], "batch_size", "device"} -> the outputs of
#               model(inputs[i:i + batch_size]) for every batch, concatenated on the CPU; run in
#               eval() and under torch.no_grad(), on the grading device (a module whose
#               parameters are elsewhere is moved there for the run and back after), in the
#               student's own world (their builtins), their error reported as data.
def __grader_models__(torch, user_ns, qualname, encode, decode):
    Module = torch.nn.Module
    Tensor = torch.Tensor
    no_grad, cat, device_of = torch.no_grad, torch.cat, torch.device
    isinstance_, len_, str_, int_, bool_, list_, range_ = isinstance, len, str, int, bool, list, range
    TEXT = 2000

    def found(req):
        name = req["name"]
        if name not in user_ns:
            return None, {"ok": True, "missing": True}
        return user_ns[name], None

    def module(req, tensors, sent, student):
        obj, missing = found(req)
        if missing:
            return missing
        if not isinstance_(obj, Module):
            return {"ok": True, "notmodule": qualname(obj)}
        info = {"type": qualname(obj), "parameters": [], "training": True, "text": ""}

        def run():
            rows = info["parameters"]
            for name, p in obj.named_parameters():
                rows.append([str_(name), [int_(s) for s in p.shape], str_(p.dtype).replace("torch.", ""),
                             bool_(p.requires_grad)])
            info["training"] = bool_(obj.training)
            info["text"] = str_(obj)[:TEXT]

        failed = student(run)
        if failed is not None:
            return failed
        return {"ok": True, "value": encode(info, tensors)}

    def place(model, device):
        """Where the module's parameters are, when that is not the grading device (else None)."""
        first = next(iter(model.parameters()), None)
        if first is None or first.device.type == device_of(device).type:
            return None
        return first.device

    def evaluate(req, tensors, sent, student):
        model, missing = found(req)
        if missing:
            return missing
        if not callable(model):
            return {"ok": False, "notcallable": qualname(model)}
        inputs = decode(req["args"], sent, "cpu")[0]
        size, device = max(1, int_(req["batch_size"])), str_(req["device"])
        outputs = []

        def run():
            is_module = isinstance_(model, Module)
            was = bool_(model.training) if is_module else False
            home = place(model, device) if is_module else None
            try:
                if is_module:
                    if home is not None:
                        model.to(device)
                    model.eval()
                with no_grad():
                    for start in range_(0, len_(inputs), size):
                        out = model(inputs[start:start + size].to(device))
                        outputs.append(out.detach().cpu() if isinstance_(out, Tensor) else out)
            finally:
                if is_module:
                    model.train(was)
                    if home is not None:
                        model.to(home)

        failed = student(run)
        if failed is not None:
            return failed
        wrong = [o for o in outputs if not isinstance_(o, Tensor)]
        if wrong:
            return {"ok": True, "notensor": qualname(wrong[0]), "batches": len_(outputs)}
        shapes = [list_(o.shape) for o in outputs]
        if any(len_(s) == 0 or s[1:] != shapes[0][1:] for s in shapes):
            return {"ok": True, "shapes": shapes[:5]}
        value = cat(outputs) if outputs else torch.zeros(0)
        return {"ok": True, "value": encode(value, tensors)}

    return {"module": module, "evaluate": evaluate}
