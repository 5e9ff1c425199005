"""Reads tempo's TensorBoard event files with TensorBoard's own reader (PyPI `tensorboard`,
EventAccumulator, as `tensorboard --logdir` does) and compares them with what tempo logged.

Usage: tensorboard_check.py RUN_DIR EXPECTED

EXPECTED has one line per logged scalar, "tag<TAB>step<TAB>value" (value as a float32 printed with
9 significant digits, so it round-trips exactly), and lines "text<TAB>tag<TAB>string" for text
summaries. Every tag must be there with exactly those steps and values, in that order, and nothing
else. Exits 77 if tensorboard cannot be imported, 1 with the difference on a mismatch.
"""
import struct
import sys

try:
    from tensorboard.backend.event_processing import event_accumulator
except ImportError as e:
    print(f"tensorboard is not importable: {e}")
    sys.exit(77)


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def main(run_dir, expected_path):
    scalars, texts = {}, {}
    with open(expected_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "text":
                texts[parts[1]] = parts[2]
            else:
                scalars.setdefault(parts[0], []).append((int(parts[1]), f32(float(parts[2]))))

    acc = event_accumulator.EventAccumulator(run_dir, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    assert sorted(tags["scalars"]) == sorted(scalars), (sorted(tags["scalars"]), sorted(scalars))
    for tag, want in scalars.items():
        got = [(e.step, f32(e.value)) for e in acc.Scalars(tag)]
        assert got == want, (tag, got[:5], want[:5])
    assert sorted(tags["tensors"]) == sorted(texts), (tags["tensors"], sorted(texts))
    for tag, want in texts.items():
        events = acc.Tensors(tag)
        assert len(events) == 1, (tag, len(events))
        got = events[0].tensor_proto.string_val[0].decode()
        assert got == want, (tag, got, want)
        assert acc.SummaryMetadata(tag).plugin_data.plugin_name == "text", tag
    print(f"ok: {sum(map(len, scalars.values()))} scalars under {len(scalars)} tags, {len(texts)} texts")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
