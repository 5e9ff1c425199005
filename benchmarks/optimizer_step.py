#!/usr/bin/env python3
"""Python's side of bench_optimizer_step: torch.optim's step() timed inside the interpreter, on
parameters shaped like the C++ side's, with fixed random gradients. Only the steps are timed;
start-up, `import torch`, allocation and the warm-up steps are not.

  optimizer_step.py serve   one long-lived process driven over stdin/stdout, one command a line:
      setup KIND THREADS ROWSxCOLS COUNT LR [MOMENTUM]  -> "ok"   (KIND: sgd, adam, adamw; then 2
                                                                  warm-up steps)
      time STEPS                                        -> "ok <seconds per step>"
      quit
    It prints "ready" once torch is imported, "error <message>" for a failed command.
The optimizers use torch.optim's defaults otherwise (in 1.13: the single-tensor, for-loop step).
"""
import sys
import time


def serve():
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - report any import failure to the driver
        print(f"error cannot import torch: {e}", flush=True)
        return 1
    print("ready", flush=True)
    opt = params = None
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "quit":
                break
            if words[0] == "setup":
                kind, threads, shape, count, lr = words[1], int(words[2]), words[3], int(words[4]), float(words[5])
                opt = params = None  # free the previous kind's memory first
                torch.set_num_threads(threads)
                rows, cols = (int(x) for x in shape.split("x"))
                gen = torch.Generator().manual_seed(1)
                params = [torch.nn.Parameter(torch.randn(rows, cols, generator=gen) * 0.02) for _ in range(count)]
                for p in params:
                    p.grad = torch.randn(rows, cols, generator=gen)
                if kind == "sgd":
                    opt = torch.optim.SGD(params, lr=lr, momentum=float(words[6]))
                elif kind == "adam":
                    opt = torch.optim.Adam(params, lr=lr)
                elif kind == "adamw":
                    opt = torch.optim.AdamW(params, lr=lr)
                else:
                    raise RuntimeError(f"unknown optimizer {kind!r}")
                for _ in range(2):
                    opt.step()
                print("ok", flush=True)
            elif words[0] == "time":
                steps = int(words[1])
                start = time.perf_counter()
                for _ in range(steps):
                    opt.step()
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
