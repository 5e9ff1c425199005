"""Interop check for tempo's safetensors files, run by tests/serialization/test_safetensors.cpp.

The `safetensors` Python package is not available on Debian 12, so this script implements the
format independently from its specification (struct + json + torch.frombuffer) and compares with
the values both sides agree on (expected() here, interop_tensors() in the C++ test).

  safetensors_interop.py check PATH   # verify a file written by tempo; exit 1 with a reason if wrong
  safetensors_interop.py write PATH   # write expected() the way the reference writer lays it out
Several MODE PATH pairs may follow each other (one interpreter start, one torch import).
Exits 77 when torch cannot be imported, so the caller can skip instead of failing.
"""
import json
import struct
import sys

try:
    import torch
except ImportError:
    sys.exit(77)

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}
METADATA = {"format": "pt", "note": "h\u00e9llo \"q\"\n"}


def expected():
    return {
        "f64": torch.arange(6, dtype=torch.float64).reshape(2, 3) / 4,
        "f32": torch.tensor([1.5, -2.25, 3.0], dtype=torch.float32),
        "f16": torch.tensor([0.5, -1.0], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.5], dtype=torch.bfloat16),
        "i64": torch.tensor([-(2 ** 40), 7], dtype=torch.int64),
        "i32": torch.tensor([[1, -2], [3, -4]], dtype=torch.int32),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "i8": torch.tensor([-5, 5], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.25, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "transposed": torch.tensor([[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]], dtype=torch.float32),
        "layer.\u00fc": torch.tensor([42], dtype=torch.int64),
    }


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data), "header length beyond the file"
    assert (8 + n) % 8 == 0, "data buffer not 8-byte aligned"
    header = json.loads(data[8:8 + n].decode("utf-8"))
    buffer = data[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors, spans = {}, []
    for name, info in header.items():
        assert set(info) == {"dtype", "shape", "data_offsets"}, f"{name}: fields {sorted(info)}"
        begin, end = info["data_offsets"]
        dtype, shape = DTYPES[info["dtype"]], info["shape"]
        count = 1
        for d in shape:
            count *= d
        assert end - begin == count * torch.empty((), dtype=dtype).element_size(), f"{name}: byte count"
        spans.append((begin, end))
        raw = bytearray(buffer[begin:end])
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(shape)
    position = 0
    for begin, end in sorted(spans):
        assert begin == position, "gap or overlap in the data buffer"
        position = end
    assert position == len(buffer), "data buffer not fully covered"
    return tensors, metadata


def check(path):
    tensors, metadata = read(path)
    want = expected()
    problems = []
    if metadata != METADATA:
        problems.append(f"metadata {metadata!r} != {METADATA!r}")
    if set(tensors) != set(want):
        problems.append(f"names {sorted(tensors)} != {sorted(want)}")
    for name in sorted(set(tensors) & set(want)):
        got, exp = tensors[name], want[name]
        if got.dtype != exp.dtype or got.shape != exp.shape or not torch.equal(got, exp):
            problems.append(f"{name}: got {got!r}, expected {exp!r}")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


def write(path):
    tensors = expected()
    # Like the reference writer: compact JSON, keys sorted, data in its own order (here reversed, so
    # a reader that assumes header order equals data order fails), header padded to 8 bytes.
    order = sorted(tensors, reverse=True)
    header, offset, chunks = {"__metadata__": METADATA}, 0, []
    for name in order:
        t = tensors[name]
        raw = t.contiguous().flatten().view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    text = json.dumps(header, separators=(",", ":"), sort_keys=True, ensure_ascii=True).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    status = 0
    for mode, target in zip(args[0::2], args[1::2]):
        status |= {"check": check, "write": write}[mode](target)
    sys.exit(status)
