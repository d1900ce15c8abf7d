"""PyTorch side of `finprint bench train`: one training epoch of torchvision's efficientnet_b0 with
the seed's species head, fed by a DataLoader (PIL decode, Resize + ToTensor + Normalize) with the
same number of workers as finprint's loader, and AdamW with the same settings.

Prints one JSON line per round (pytorch_rounds.serve) so the TypeScript side can alternate rounds with it.
Usage: train_pytorch.py --manifest FILE --classes C --workers N --batch 16 --size 224 --threads T --rounds R
(the manifest has one `path<TAB>label` line per photo)
"""
import argparse

import torch
import torchvision
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, Subset

from data_pytorch import Photos
from pytorch_rounds import serve


class Labelled(Dataset):
    def __init__(self, photos, labels):
        self.photos = photos
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.photos[i], self.labels[i]


def model_with_species_head(classes: int) -> nn.Module:
    # finprint's efficientnet_b0 has no stochastic depth by default (timm's), so switch off
    # torchvision's; its classifier becomes the seed's head (finprint's DenseHead).
    model = torchvision.models.efficientnet_b0(stochastic_depth_prob=0.0)
    model.classifier = nn.Sequential(nn.Linear(1280, 256), nn.ReLU(inplace=True), nn.Dropout(0.6), nn.Linear(256, classes))
    return model


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--manifest", required=True)
    p.add_argument("--classes", type=int, required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.manifest) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    data = Labelled(Photos([r[0] for r in rows], args.size), [int(r[1]) for r in rows])
    model = model_with_species_head(args.classes)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)

    def epoch(loader) -> int:
        model.train()
        n = 0
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            loss.item()
            (logits.argmax(1) == y).float().mean().item()  # finprint's species step reports accuracy too
            n += x.shape[0]
        return n

    # Warm-up on two batches, as the finprint side does: allocations, oneDNN caches, optimiser state.
    epoch(DataLoader(Subset(data, range(min(len(data), 2 * args.batch))), batch_size=args.batch, shuffle=True, num_workers=args.workers))
    loader = DataLoader(data, batch_size=args.batch, shuffle=True, num_workers=args.workers, persistent_workers=True)
    serve(args.rounds, lambda: epoch(loader))


if __name__ == "__main__":
    main()
