"""PyTorch side of `finprint bench identify`: the same exact cosine search, in the same blocks.

Random unit vectors from the same seed and generator calls as the TypeScript side (so, with the
same libtorch, the very same vectors); each block of queries is one matmul against the transposed
gallery and one topk. Prints one JSON line per round (pytorch_rounds.serve).
Usage: identify_pytorch.py --queries 28000 --gallery 51000 --dim 512 --block 1024 --neighbours 50 --seed 0 --threads T --rounds R
"""
import argparse

import torch
import torch.nn.functional as F

from pytorch_rounds import serve


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--queries", type=int, default=28000)
    p.add_argument("--gallery", type=int, default=51000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--block", type=int, default=1024)
    p.add_argument("--neighbours", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gallery = F.normalize(torch.randn(args.gallery, args.dim), dim=1)
    queries = F.normalize(torch.randn(args.queries, args.dim), dim=1)
    gallery_t = gallery.t().contiguous()

    def search(n: int) -> int:
        with torch.no_grad():
            for start in range(0, n, args.block):
                values, indices = (queries[start:start + args.block] @ gallery_t).topk(args.neighbours, 1)
                values.numpy(), indices.numpy()
        return n

    search(min(args.block, args.queries))  # warm-up
    serve(args.rounds, lambda: search(args.queries))


if __name__ == "__main__":
    main()
