"""run_pytorch_peer.py — runs ../shared/tools/pytorch_dit_step.py (the reference PyTorch DiT training step)
with timm importable: PYTHONPATH must hold timm (e.g. `pip install --no-deps --target DIR timm`); torchvision
is replaced by a stub when it is not installed. Arguments are passed through (see pytorch_dit_step.py)."""
import os
import runpy
import sys

here = os.path.dirname(os.path.abspath(__file__))
try:
    import torchvision  # noqa: F401
except Exception:
    sys.path.insert(0, here)
    import torchvision_stub  # noqa: F401
tool = os.environ.get("DITC_PEER_TOOL", os.path.join(here, "..", "..", "..", "shared", "tools", "pytorch_dit_step.py"))
sys.argv = [tool] + sys.argv[1:]
runpy.run_path(tool, run_name="__main__")
