"""PyTorch side of `finprint bench train`: one training epoch of torchvision's efficientnet_b0 with
the seed's species head, fed by a DataLoader (PIL decode, Resize + ToTensor + Normalize) with the
same number of workers as finprint's loader, and AdamW with the same settings, then a validation
pass (loss and accuracy) over the held-out photos. Each round reports the seconds of each phase.

Prints one JSON line per round (pytorch_rounds.serve) so the TypeScript side can alternate rounds with it.
Usage: train_pytorch.py --manifest FILE --validation FILE --classes C --workers N --batch 16 --size 224 --threads T --rounds R
(each manifest has one `path<TAB>label` line per photo)
"""
import argparse
import time

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
    p.add_argument("--validation", required=True)
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

    def labelled(manifest: str) -> Labelled:
        with open(manifest) as f:
            rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
        return Labelled(Photos([r[0] for r in rows], args.size), [int(r[1]) for r in rows])

    data = labelled(args.manifest)
    held = labelled(args.validation)
    model = model_with_species_head(args.classes)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)

    def epoch(loader, validation):
        phases = dict.fromkeys(["photos", "to tensor", "forward", "backward", "optimiser", "validation"], 0.0)
        model.train()
        n = 0
        batches = iter(loader)
        while True:
            start = time.perf_counter()
            batch = next(batches, None)
            phases["photos"] += time.perf_counter() - start
            if batch is None:
                break
            x, y = batch
            opt.zero_grad(set_to_none=True)
            start = time.perf_counter()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            phases["forward"] += time.perf_counter() - start
            start = time.perf_counter()
            loss.backward()
            loss.item()
            phases["backward"] += time.perf_counter() - start
            start = time.perf_counter()
            opt.step()
            phases["optimiser"] += time.perf_counter() - start
            (logits.argmax(1) == y).float().mean().item()  # finprint's species step reports accuracy too
            n += x.shape[0]
        # The validation finprint's species task runs: summed loss and accuracy, no gradients.
        start = time.perf_counter()
        model.eval()
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for x, y in validation:
                logits = model(x)
                loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
                correct += int((logits.argmax(1) == y).sum())
                n += x.shape[0]
        phases["validation"] = time.perf_counter() - start
        return n, phases

    # Warm-up on two batches, as the finprint side does: allocations, oneDNN caches, optimiser state.
    epoch(DataLoader(Subset(data, range(min(len(data), 2 * args.batch))), batch_size=args.batch, shuffle=True, num_workers=args.workers),
          DataLoader(Subset(held, range(min(len(held), args.batch))), batch_size=args.batch, num_workers=args.workers))
    loader = DataLoader(data, batch_size=args.batch, shuffle=True, num_workers=args.workers, persistent_workers=True)
    validation = DataLoader(held, batch_size=args.batch, num_workers=args.workers, persistent_workers=True)
    serve(args.rounds, lambda: epoch(loader, validation))


if __name__ == "__main__":
    main()
