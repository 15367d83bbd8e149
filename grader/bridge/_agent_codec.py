# Kernel-side half of the bridge, part 1 of 6: values as the agent encodes them for the grader
# (JSON nodes plus a list of plain tensors, packed as raw bytes or one torch.save blob) and
# decodes a call's arguments. Sent into the kernel as text with the other parts (see
# grader/bridge/agent.py), never imported. Called once, at install time: everything it uses is
# bound then.
def __grader_codec__(torch):
    Tensor = torch.Tensor
    isinstance_, type_, repr_, len_, str_, float_ = isinstance, type, repr, len, str, float
    MAX_ITEMS, MAX_DEPTH = 10000, 20
    try:
        import numpy
        ndarray = numpy.ndarray
    except Exception:
        numpy, ndarray = None, ()
    no_torch_function = getattr(torch._C, "DisableTorchFunctionSubclass", None)

    def qualname(obj):
        cls = type_(obj)
        return f"{cls.__module__}.{cls.__qualname__}"

    def plain(t):
        if no_torch_function is not None:
            with no_torch_function():
                t = t.detach()
                return t.as_subclass(Tensor) if type_(t) is not Tensor else t
        return t.detach()

    def encode(value, tensors, depth=0):
        if depth > MAX_DEPTH or len_(tensors) > MAX_ITEMS:
            return {"t": "opaque", "type": qualname(value), "repr": "<too deep>"}
        if isinstance_(value, Tensor):
            t = plain(value)
            info = {"t": "tensor", "i": len_(tensors), "device": str_(t.device), "cls": qualname(value),
                    "requires_grad": bool(value.requires_grad), "layout": str_(t.layout)}
            try:
                info["storage"] = int(t.untyped_storage().data_ptr())
                info["offset"] = int(t.storage_offset())
                info["stride"] = list(t.stride())
            except Exception:
                pass
            tensors.append(t.cpu() if t.device.type != "cpu" else t)
            return info
        if ndarray and isinstance_(value, ndarray):
            try:
                t = torch.from_numpy(numpy.ascontiguousarray(value))
                tensors.append(t)
                return {"t": "ndarray", "i": len_(tensors) - 1, "dtype": str_(value.dtype)}
            except Exception:
                return {"t": "opaque", "type": qualname(value), "repr": repr_(value)[:300]}
        if value is None or isinstance_(value, (bool, int, str)):
            if isinstance_(value, int) and not isinstance_(value, bool) and abs(value) > 2**63:
                return {"t": "opaque", "type": "builtins.int", "repr": repr_(value)[:300]}
            if isinstance_(value, str) and len_(value) > 100000:
                value = value[:100000]
            return {"t": "json", "v": value, "type": qualname(value)}
        if isinstance_(value, float):
            if value != value or value in (float_("inf"), float_("-inf")):
                return {"t": "float", "v": repr_(value)}
            return {"t": "json", "v": value, "type": "builtins.float"}
        if ndarray and numpy is not None and isinstance_(value, numpy.generic):
            return {"t": "npscalar", "v": encode(value.item(), tensors, depth + 1), "dtype": str_(value.dtype)}
        if isinstance_(value, (list, tuple)) and len_(value) <= MAX_ITEMS:
            return {"t": "list" if isinstance_(value, list) else "tuple",
                    "items": [encode(v, tensors, depth + 1) for v in value]}
        if isinstance_(value, dict) and len_(value) <= MAX_ITEMS:
            return {"t": "dict", "items": [[encode(k, tensors, depth + 1), encode(v, tensors, depth + 1)]
                                           for k, v in value.items()]}
        if callable(value):
            return {"t": "callable", "type": qualname(value), "name": getattr(value, "__name__", "")}
        try:
            text = repr_(value)[:300]
        except Exception:
            text = "<unrepresentable>"
        return {"t": "opaque", "type": qualname(value), "repr": text}

    def decode(node, tensors, device):
        kind = node["t"]
        if kind == "tensor":
            t = tensors[node["i"]]
            t = t.to(device) if device != "cpu" else t
            return t.requires_grad_(True) if node.get("requires_grad") else t
        if kind == "json":
            return node["v"]
        if kind == "float":
            return float_(node["v"])
        if kind in ("list", "tuple"):
            items = [decode(v, tensors, device) for v in node["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {decode(k, tensors, device): decode(v, tensors, device) for k, v in node["items"]}
        raise ValueError(f"cannot decode {kind}")

    return qualname, encode, decode


def __grader_raw_dtypes__(torch):
    """The dtypes whose tensors travel as raw bytes, both ways, by name (grader/bridge/outgoing.py's RAW_DTYPES)."""
    return {name: getattr(torch, name) for name in (
        "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
        "complex64", "complex128")}


def __grader_pack__(torch):
    """A reply's tensors as the reply's fields: {"blob": base64 of their raw bytes, "raw": one
    [dtype, shape, offset, nbytes] each} (grader/bridge/incoming_raw.py reads them), or, where one is not
    a plain dense CPU tensor of a raw dtype, {"blob": base64 of one torch.save archive} (incoming_blob.py)."""
    import base64, io

    save, b64encode, BytesIO = torch.save, base64.b64encode, io.BytesIO
    strided, uint8 = torch.strided, torch.uint8
    RAW = {dtype: name for name, dtype in __grader_raw_dtypes__(torch).items()}
    # outgoing.py's ALIGN; the grader's Budget.tensor_dims and blob_bytes
    ALIGN, MAX_DIMS, MAX_BYTES = 16, 64, 192 * 1024 * 1024
    len_, list_ = len, list

    def raw(tensors):
        specs, chunks, offset, total = [], [], 0, 0
        for t in tensors:
            name = RAW.get(t.dtype)
            if name is None or t.layout != strided or t.device.type != "cpu" or t.dim() > MAX_DIMS:
                return None
            nbytes = t.numel() * t.element_size()
            total += nbytes
            # a view larger than its storage (expanded, stride 0) stays one small record in the
            # archive, and the grader's budget judges what it claims; so does a reply over budget
            if nbytes > t.untyped_storage().nbytes() or total > MAX_BYTES:
                return None
            t = t.resolve_conj().resolve_neg().contiguous()
            data = t.reshape(-1).view(uint8).numpy().tobytes() if t.numel() else b""
            specs.append([name, list_(t.shape), offset, len_(data)])
            chunks.append(data + bytes(-len_(data) % ALIGN))
            offset += len_(chunks[-1])
        return specs, b"".join(chunks)

    def pack(tensors):
        if not tensors:
            return {"blob": ""}
        try:
            packed = raw(tensors)
        except Exception:                 # no numpy, a tensor that will not give its bytes: the archive
            packed = None
        if packed is not None:
            return {"blob": b64encode(packed[1]).decode("ascii"), "raw": packed[0]}
        buf = BytesIO()
        save(list_(tensors), buf)
        return {"blob": b64encode(buf.getvalue()).decode("ascii")}

    return pack
