#!/usr/bin/env python3
"""Python's side of bench_gpt_step: the `gpt` model of configs/tiny_lm.yaml (examples/tiny_lm/gpt.py,
the same modules and initialisation as tempo's models/gpt.h) trained by the plain PyTorch loop on
the same byte stream: each step draws a batch of random sequences (torch.randint), then forward,
cross-entropy, backward, torch.optim.AdamW step, zero_grad. Only the steps are timed; start-up,
`import torch`, reading the text and the warm-up steps are not.

  gpt_step.py serve   one long-lived process driven over stdin/stdout, one command a line:
      setup THREADS GLOB SEQ_LEN BATCH LAYERS HEADS WIDTH  -> "ok"  (then 3 warm-up steps)
      time STEPS                                          -> "ok <seconds per step>"
      quit
    It prints "ready" once torch is imported, "error <message>" for a failed command.
"""
import glob
import os
import sys
import time


def serve():
    try:
        import torch
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "tiny_lm"))
        from gpt import GPT
    except Exception as e:  # noqa: BLE001 - report any import failure to the driver
        print(f"error cannot import torch or examples/tiny_lm/gpt.py: {e}", flush=True)
        return 1
    print("ready", flush=True)
    state = {}

    def step():
        s = state
        starts = torch.randint(0, s["tokens"].numel() - s["seq_len"] - 1, (s["batch"],), generator=s["gen"])
        rows = s["tokens"][starts.unsqueeze(1) + torch.arange(s["seq_len"] + 1)].long()
        x, y = rows[:, :-1], rows[:, 1:]
        loss = s["model"].loss(s["model"](x), y)
        loss.backward()
        s["opt"].step()
        s["opt"].zero_grad(set_to_none=True)
        return loss.item()

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "quit":
                break
            if words[0] == "setup":
                threads, pattern = int(words[1]), words[2]
                seq_len, batch, layers, heads, width = (int(w) for w in words[3:8])
                torch.set_num_threads(threads)
                seen, data = set(), b""
                for name in sorted(glob.glob(pattern)):
                    real = os.path.realpath(name)
                    if os.path.isfile(name) and real not in seen:
                        seen.add(real)
                        with open(name, "rb") as f:
                            text = f.read()
                        data += text if text.endswith(b"\n") else text + b"\n"
                torch.manual_seed(17)
                model = GPT(context_length=seq_len, layers=layers, heads=heads, width=width)
                state.update(tokens=torch.frombuffer(bytearray(data), dtype=torch.uint8), seq_len=seq_len, batch=batch,
                             model=model, gen=torch.Generator().manual_seed(1),
                             opt=torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.01))
                for _ in range(3):
                    step()
                print("ok", flush=True)
            elif words[0] == "time":
                steps = int(words[1])
                start = time.perf_counter()
                for _ in range(steps):
                    step()
                print(f"ok {(time.perf_counter() - start) / steps!r}", flush=True)
            else:
                raise RuntimeError(f"unknown command {words[0]!r}")
        except Exception as e:  # noqa: BLE001 - the driver reads the failure from stdout
            print(f"error {type(e).__name__}: {e}".replace("\n", " "), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        sys.exit(serve())
    print(__doc__, file=sys.stderr)
    sys.exit(2)
