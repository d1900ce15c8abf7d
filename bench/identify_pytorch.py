"""PyTorch side of `finprint bench identify`: the same exact cosine search, in the same blocks.

Random unit vectors from the same seed and generator calls as the TypeScript side (so, with the
same libtorch, the very same vectors); each block of queries is one matmul into a reused buffer,
then either topk over the whole rows (--topk plain, PyTorch's own way) or the exact chunked top-k
of src/identify/row_topk.ts (--topk chunked: topk over chunk maxima, then over the best chunks).
After the warm-up, prints one JSON line with the neighbours its first block found for the first
--sample queries (gallery rows and scores, best first), for the TypeScript side to compare with
its own; then one JSON line per round (pytorch_rounds.serve).
Usage: identify_pytorch.py --queries 28000 --gallery 51000 --dim 512 --block 1024 --neighbours 50 --seed 0 --threads T --rounds R --topk plain|chunked --sample S
"""
import argparse
import json
import math

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
    p.add_argument("--topk", choices=["plain", "chunked"], default="plain")
    p.add_argument("--sample", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gallery = F.normalize(torch.randn(args.gallery, args.dim), dim=1)
    queries = F.normalize(torch.randn(args.queries, args.dim), dim=1)
    gallery_t = gallery.t()
    k = args.neighbours
    chunk = max(1, round(math.sqrt(args.gallery / k))) if args.topk == "chunked" else args.gallery
    chunks = math.ceil(args.gallery / chunk)
    scores = torch.zeros(min(args.block, args.queries), chunks * chunk)
    offsets = torch.arange(chunk)

    def topk(s: torch.Tensor):
        s[:, args.gallery:] = -math.inf
        if args.topk == "plain" or chunks <= 2 * k:
            return s[:, :args.gallery].topk(k, 1)
        best = s.view(s.shape[0], chunks, chunk).amax(2).topk(k, 1).indices
        cols = (best.unsqueeze(2) * chunk + offsets).view(s.shape[0], k * chunk)
        values, pos = s.gather(1, cols).topk(k, 1)
        return values, cols.gather(1, pos)

    def search(n: int):
        """Searches the first n queries; returns the last block's neighbours (values, indices)."""
        with torch.no_grad():
            for start in range(0, n, args.block):
                q = queries[start:start + args.block]
                s = scores[:q.shape[0]]
                torch.mm(q, gallery_t, out=s[:, :args.gallery])
                values, indices = topk(s)
                values.numpy(), indices.numpy()
        return values, indices

    values, indices = search(min(args.block, args.queries))  # warm-up: the first block
    print(json.dumps({"indices": indices[:args.sample].tolist(), "scores": values[:args.sample].tolist()}), flush=True)

    def run_round() -> int:
        search(args.queries)
        return args.queries

    serve(args.rounds, run_round)


if __name__ == "__main__":
    main()
