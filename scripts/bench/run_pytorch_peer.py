"""run_pytorch_peer.py — runs ../shared/tools/pytorch_dit_step.py (the reference PyTorch DiT training step)
with timm importable: PYTHONPATH must hold timm (e.g. `pip install --no-deps --target DIR timm`); torchvision
is replaced by a stub when it is not installed. Arguments are passed through (see pytorch_dit_step.py). On a GPU it
then prints torch.cuda.max_memory_allocated() — the peak device memory `ditc bench` is compared with (the peer itself
does not print it). DITC_PEER_TOOL names another copy of the peer (the device kit's)."""
import atexit
import os
import runpy
import sys


def peak_memory():
    try:
        import torch
        if torch.cuda.is_available() and torch.cuda.max_memory_allocated() > 0:
            print(f"pytorch peak_memory_allocated_MiB={torch.cuda.max_memory_allocated() / 2**20:.1f} "
                  f"peak_memory_reserved_MiB={torch.cuda.max_memory_reserved() / 2**20:.1f}", flush=True)
    except Exception as e:  # the peer's own line is printed already: say why this one is missing
        print(f"pytorch peak memory: not available ({e})", flush=True)


here = os.path.dirname(os.path.abspath(__file__))
try:
    import torchvision  # noqa: F401
except Exception:
    sys.path.insert(0, here)
    import torchvision_stub  # noqa: F401
tool = os.environ.get("DITC_PEER_TOOL", os.path.join(here, "..", "..", "..", "shared", "tools", "pytorch_dit_step.py"))
sys.argv = [tool] + sys.argv[1:]
atexit.register(peak_memory)
runpy.run_path(tool, run_name="__main__")
