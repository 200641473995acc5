"""Throughput of hilt's numpy paths against the reference runtimes, measured in the same run.

- int8 golden forward of LeNet-5 vs onnxruntime's float forward of the same ONNX model;
- float training steps (forward + backward + SGD update) vs torch CPU on the same network and batch.

Prints samples/s for each and the ratio hilt / reference (>= 0.5 is the project's target). Usage:
    python benchmarks/throughput.py [--batch 256] [--train-batch 32] [--seconds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json

from measure import rate  # benchmarks/ is on sys.path when a script in it runs
import platform

import numpy as np


def golden_vs_onnxruntime(model, x, seconds):
    import onnxruntime as ort

    from hilt import golden
    from hilt.frontend import import_onnx
    from hilt.quant import quantize

    net = import_onnx(model)
    q = quantize(net, x, bits=8)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x}
    ort_rate = rate(lambda: sess.run(None, feed), len(x), seconds)
    golden_rate = rate(lambda: golden.forward(q, x), len(x), seconds)
    return {"golden_int8_samples_per_s": golden_rate, "onnxruntime_samples_per_s": ort_rate,
            "ratio": golden_rate / ort_rate}


def torch_lenet5():
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def training_vs_torch(model, x, y, seconds):
    import torch

    from hilt.frontend import import_onnx
    from hilt.train import SGD, SGDConfig, loss_and_grads

    config = SGDConfig()
    opt = SGD(import_onnx(model), config)

    def hilt_step():
        _, grads, _ = loss_and_grads(opt.network, x, y)
        opt.step(grads, 0.01)

    tnet = torch_lenet5()
    topt = torch.optim.SGD(tnet.parameters(), lr=0.01, momentum=config.momentum,
                           weight_decay=config.weight_decay)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def torch_step():
        topt.zero_grad()
        loss_fn(tnet(tx), ty).backward()
        topt.step()

    torch_rate = rate(torch_step, len(x), seconds)
    hilt_rate = rate(hilt_step, len(x), seconds)
    return {"hilt_float_train_samples_per_s": hilt_rate, "torch_cpu_train_samples_per_s": torch_rate,
            "torch_threads": torch.get_num_threads(), "ratio": hilt_rate / torch_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256, help="inference batch (default 256)")
    parser.add_argument("--train-batch", type=int, default=32, help="training batch (default 32, as hilt train)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    from hilt import data, zoo

    model = zoo.build("lenet5")
    ds = data.read_mnist5k()
    x = ds.x[: args.batch]
    results = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
               "inference_batch": args.batch, "train_batch": args.train_batch}
    results["forward"] = golden_vs_onnxruntime(model, x, args.seconds)
    results["training"] = training_vs_torch(model, ds.x[: args.train_batch], ds.y[: args.train_batch],
                                            args.seconds)
    f, t = results["forward"], results["training"]
    print(f"LeNet-5 forward, batch {args.batch}: golden int8 {f['golden_int8_samples_per_s']:,.0f}/s, "
          f"onnxruntime float {f['onnxruntime_samples_per_s']:,.0f}/s, ratio {f['ratio']:.2f}x")
    print(f"LeNet-5 training, batch {args.train_batch}: hilt float {t['hilt_float_train_samples_per_s']:,.0f}/s, "
          f"torch CPU {t['torch_cpu_train_samples_per_s']:,.0f}/s, ratio {t['ratio']:.2f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
