"""Loads a tempo gpt checkpoint into examples/tiny_lm/gpt.py's GPT (strict load_state_dict) and
compares its logits for tokens (i * 7) % 256 of shape [2, T] with tempo's, read from a
safetensors file (parsed here by hand: 8-byte length, JSON header, raw float32).
    gpt_twin.py CKPT LOGITS.safetensors CONTEXT LAYERS HEADS WIDTH"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "tiny_lm"))
from gpt import from_checkpoint  # noqa: E402

ckpt, logits_file, context, layers, heads, width = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
model = from_checkpoint(ckpt, context_length=context, layers=layers, heads=heads, width=width)
with open(logits_file, "rb") as f:
    raw = f.read()
n = struct.unpack("<Q", raw[:8])[0]
entry = json.loads(raw[8:8 + n])["logits"]
begin, end = entry["data_offsets"]
tempo_logits = torch.frombuffer(bytearray(raw[8 + n + begin:8 + n + end]), dtype=torch.float32).view(entry["shape"])
tokens = (torch.arange(tempo_logits.shape[0] * tempo_logits.shape[1]) * 7 % 256).view(tempo_logits.shape[:2])
with torch.no_grad():
    logits = model(tokens)
diff = (logits - tempo_logits).abs().max().item()
print(f"max |python - tempo| = {diff:.3g}")
sys.exit(0 if diff < 1e-4 else 1)
