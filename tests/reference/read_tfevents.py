#!/usr/bin/env python3
"""read_tfevents.py PATH [--wall-time] — the scalars of TensorBoard event files, read by TensorBoard's own code.

PATH is an events.out.tfevents.* file or a run directory. Every file is first read record by record with
TensorBoard's TFRecord reader (the one it uses without TensorFlow: both masked CRC32Cs checked; any error is
fatal here, while TensorBoard itself silently stops at a bad record), then loaded the way `tensorboard --logdir`
loads a run: plugin_event_accumulator.EventAccumulator, which migrates simple_value summaries to the scalars
plugin's tensors. Prints one CSV line per scalar, tags sorted, each tag's points in file order:

    tag,step,value[,wall_time]     (floats as Python repr: the float32 widened to double, exactly)

Exit 0; 1 on a bad file or a non-scalar summary; 77 when tensorboard cannot be imported (scripts/install-deps.sh).
"""
import argparse
import glob
import os
import sys

try:
    from tensorboard.backend.event_processing import plugin_event_accumulator
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
    from tensorboard.util import tensor_util
except ImportError as e:
    print(f"SKIP read_tfevents.py: cannot import tensorboard ({e}); scripts/install-deps.sh installs it",
          file=sys.stderr)
    sys.exit(77)


def check_records(path):
    """Reads every record of path with TensorBoard's PyRecordReader_New; returns the number of Events."""
    reader = pywrap_tensorflow.PyRecordReader_New(path, 0, None, None)
    n = 0
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return n
        event_pb2.Event.FromString(reader.record())  # a protobuf error is fatal too
        n += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path")
    ap.add_argument("--wall-time", action="store_true", help="a fourth column: the Event's wall_time")
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.path, "*tfevents*"))) if os.path.isdir(a.path) else [a.path]
    if not files:
        sys.exit(f"read_tfevents.py: no events.out.tfevents.* file in {a.path}")
    for f in files:
        try:
            check_records(f)
        except errors.OpError as e:
            sys.exit(f"read_tfevents.py: {f}: {e.message}")

    acc = plugin_event_accumulator.EventAccumulator(
        a.path, size_guidance=plugin_event_accumulator.STORE_EVERYTHING_SIZE_GUIDANCE)
    acc.Reload()
    for tag in sorted(acc.Tags()["tensors"]):
        plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
        if plugin != "scalars":
            sys.exit(f"read_tfevents.py: tag {tag!r} is a {plugin!r} summary, not a scalar")
        for ev in acc.Tensors(tag):
            v = tensor_util.make_ndarray(ev.tensor_proto)
            if v.shape != () or v.dtype.name != "float32":
                sys.exit(f"read_tfevents.py: tag {tag!r} step {ev.step}: a {v.dtype.name}{list(v.shape)} tensor")
            line = f"{tag},{ev.step},{float(v)!r}"
            print(line + (f",{ev.wall_time!r}" if a.wall_time else ""))


if __name__ == "__main__":
    main()
