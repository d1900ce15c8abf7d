"""PyTorch side of `finprint bench engine`: the same ResNet-18-shaped training step.

Prints one JSON line per round (pytorch_rounds.serve) so the TypeScript side can alternate rounds with it.
Usage: engine_pytorch.py --batch 16 --size 224 --steps N --threads T --rounds R
"""
import argparse

import torch
import torchvision

from pytorch_rounds import serve


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 1000, (args.batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    def steps() -> int:
        for _ in range(args.steps):
            step()
        return args.batch * args.steps

    for _ in range(args.warmup):
        step()
    serve(args.rounds, steps)


if __name__ == "__main__":
    main()
