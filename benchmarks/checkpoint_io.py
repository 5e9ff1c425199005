#!/usr/bin/env python3
"""Python's side of bench_checkpoint_io: torch.save / torch.load timed inside the interpreter.

Only the torch call (plus flush and fsync of the file and of its folder for a save) is timed;
interpreter start-up, `import torch` and loading the input object are not.

  checkpoint_io.py save IN OUT   load IN, time saving it to OUT, print "<seconds> <extra peak bytes>"
  checkpoint_io.py load PATH     time torch.load(PATH), print "<seconds> <checksum>"
  checkpoint_io.py serve         one long-lived process driven over stdin/stdout, one command a line:
      source PATH   -> "ok <checksum>"                 (load the object that later saves write)
      save OUT      -> "ok <seconds> <extra peak bytes>"
      load PATH     -> "ok <seconds> <checksum> <extra peak bytes>"
      quit
    It prints "ready" once torch is imported, "error <message>" for a failed command.

The extra peak is VmHWM after the call minus VmRSS before it, with VmHWM reset through
/proc/self/clear_refs just before the call (Linux only; -1 where that cannot be done).
"""
import os
import sys
import time


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _fsync_folder(path):
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders, as tempo tolerates EINVAL
    finally:
        os.close(fd)


def checksum(obj):
    """Sum of every tensor's elements in float64, walked in tree order; touches all bytes."""
    import torch

    if isinstance(obj, torch.Tensor):
        return float(obj.sum(dtype=torch.float64))
    if isinstance(obj, dict):
        return sum(checksum(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(checksum(v) for v in obj)
    return 0.0


def timed_save(obj, out):
    import torch

    can_reset = _reset_peak()
    rss_before = _status_kb("VmRSS")
    start = time.perf_counter()
    with open(out, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    _fsync_folder(out)
    seconds = time.perf_counter() - start
    extra = (_status_kb("VmHWM") - rss_before) * 1024 if can_reset else -1
    return seconds, extra


def timed_load(path):
    import torch

    can_reset = _reset_peak()
    rss_before = _status_kb("VmRSS")
    start = time.perf_counter()
    obj = torch.load(path)
    seconds = time.perf_counter() - start
    extra = (_status_kb("VmHWM") - rss_before) * 1024 if can_reset else -1
    return seconds, obj, extra


def serve():
    try:
        import torch  # noqa: F401
    except Exception as e:  # noqa: BLE001 - report any import failure to the driver
        print(f"error cannot import torch: {e}", flush=True)
        return 1
    print("ready", flush=True)
    source = None
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        try:
            if command == "quit":
                break
            if command == "source":
                source = torch.load(arg)
                print(f"ok {checksum(source)!r}", flush=True)
            elif command == "save":
                if source is None:
                    raise RuntimeError("no source loaded")
                seconds, extra = timed_save(source, arg)
                print(f"ok {seconds!r} {extra}", flush=True)
            elif command == "load":
                seconds, obj, extra = timed_load(arg)
                total = checksum(obj)
                del obj
                print(f"ok {seconds!r} {total!r} {extra}", flush=True)
            else:
                raise RuntimeError(f"unknown command {command!r}")
        except Exception as e:  # noqa: BLE001 - the driver reads the failure from stdout
            print(f"error {type(e).__name__}: {e}".replace("\n", " "), flush=True)
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "serve":
        return serve()
    if len(argv) == 4 and argv[1] == "save":
        import torch

        obj = torch.load(argv[2])
        seconds, extra = timed_save(obj, argv[3])
        print(f"{seconds!r} {extra}")
        return 0
    if len(argv) == 3 and argv[1] == "load":
        seconds, obj, _ = timed_load(argv[2])
        print(f"{seconds!r} {checksum(obj)!r}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
