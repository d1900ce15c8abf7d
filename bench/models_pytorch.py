"""PyTorch side of `finprint bench models`: inference (eval mode, no grad) of one architecture.

vgg16, inception_v3 and efficientnet_b0 are torchvision's, the same architectures as timm's;
levit_192 and coatnet_0_rw_224 come from timm_models.py (timm is not packaged for Debian).
Prints one JSON line per round (pytorch_rounds.serve) so the TypeScript side can alternate rounds with it.
Usage: models_pytorch.py --model NAME --size 224 --batch 16 --steps N --threads T --rounds R
"""
import argparse

import torch
import torchvision

import timm_models
from pytorch_rounds import serve

BUILDERS = {
    "vgg16": lambda size: torchvision.models.vgg16(),
    "inception_v3": lambda size: torchvision.models.inception_v3(aux_logits=False, init_weights=False),
    "efficientnet_b0": lambda size: torchvision.models.efficientnet_b0(),
    # Their attention bias tables are tied to the input size.
    "levit_192": lambda size: timm_models.LevitDistilled(img_size=size),
    "coatnet_0_rw_224": lambda size: timm_models.CoAtNet(img_size=size),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, choices=sorted(BUILDERS))
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = BUILDERS[args.model](args.size).eval()
    x = torch.randn(args.batch, 3, args.size, args.size)

    def steps() -> int:
        with torch.no_grad():
            for _ in range(args.steps):
                model(x)
        return args.batch * args.steps

    for _ in range(args.warmup):
        with torch.no_grad():
            model(x)
    serve(args.rounds, steps)


if __name__ == "__main__":
    main()
