"""PyTorch side of `finprint bench data`: the standard DataLoader + PIL + torchvision pipeline doing
the same work as finprint's loader (decode JPEG, resize to size x size, to tensor, normalise,
batch) with the same number of workers.

Prints one JSON line per round (pytorch_rounds.serve) so the TypeScript side can alternate rounds with it.
Usage: data_pytorch.py --dir DIR --workers N --batch 16 --size 224 --rounds R
"""
import argparse
import glob
import os
import sys

import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from pytorch_rounds import serve

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class Photos(Dataset):
    def __init__(self, files, size):
        self.files = files
        self.transform = T.Compose([T.Resize((size, size)), T.ToTensor(), T.Normalize(MEAN, STD)])

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with Image.open(self.files[i]) as im:
            return self.transform(im.convert("RGB"))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()
    files = sorted(glob.glob(os.path.join(args.dir, "*.jpg")))
    if not files:
        sys.exit(f"no .jpg files in {args.dir}")
    loader = DataLoader(Photos(files, args.size), batch_size=args.batch, num_workers=args.workers,
                        shuffle=False, persistent_workers=args.workers > 0)

    def epoch() -> int:
        n = 0
        for batch in loader:
            assert batch.shape[1:] == (3, args.size, args.size)
            n += batch.shape[0]
        return n

    epoch()  # warm-up: worker start-up and the file cache
    serve(args.rounds, epoch)


if __name__ == "__main__":
    main()
