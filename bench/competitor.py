"""A competing job for `finprint bench train --competitor K`: what another person's training does
on a shared machine. ResNet-18 training steps on random data with PyTorch's default settings
(OpenMP's default wait policy) and --threads intra-op threads, until stdin closes (the bench ends
it) or --seconds pass (so a bench that dies never leaves it running). Prints "ready" after its
first step, so the bench times nothing before the competition is real.

Usage: competitor.py --threads 2 --seconds 1800
"""
import argparse
import sys
import threading
import time

import torch
import torchvision


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=1800)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=160)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    stop = threading.Event()
    # stdin closing (the bench ended it or died) stops the job between steps.
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    model = torchvision.models.resnet18(num_classes=100)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 100, (args.batch,))
    deadline = time.monotonic() + args.seconds
    first = True
    while not stop.is_set() and time.monotonic() < deadline:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if first:
            print("ready", flush=True)
            first = False


if __name__ == "__main__":
    main()
