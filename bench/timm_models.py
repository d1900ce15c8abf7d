"""PyTorch definitions of timm's levit_192 and coatnet_0_rw_224 for the side-by-side benchmarks.

timm is not packaged for Debian and torchvision has neither model, so these follow timm 1.0.9 (see
shared/docs/architectures.md sections 4 and 5): the same convs, linears, norms and attention ops in
the same order, and timm's state-dict names, so a timm checkpoint (or the test fixtures) loads into
them unchanged. Eval-mode forward only: no dropout or drop-path, which are identity in eval anyway.
"""
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F


# ---------------------------------------------------------------------------------------------
# LeViT (timm levit.py, LevitDistilled, use_conv=False)
# ---------------------------------------------------------------------------------------------

class ConvNorm(nn.Sequential):
    """Conv (no bias) + BatchNorm2d, keys `linear`, `bn`: the stem's layers."""

    def __init__(self, cin, cout):
        super().__init__(OrderedDict(linear=nn.Conv2d(cin, cout, 3, 2, 1, bias=False), bn=nn.BatchNorm2d(cout)))


class LinearNorm(nn.Module):
    """Linear (no bias) on [B, N, C], then BatchNorm1d over all B*N tokens."""

    def __init__(self, cin, cout):
        super().__init__()
        self.linear = nn.Linear(cin, cout, bias=False)
        self.bn = nn.BatchNorm1d(cout)

    def forward(self, x):
        x = self.linear(x)
        return self.bn(x.flatten(0, 1)).reshape_as(x)


class NormLinear(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(OrderedDict(bn=nn.BatchNorm1d(cin), linear=nn.Linear(cin, cout)))


class Subsample(nn.Module):
    """Keeps every second row and column of the R x R token grid."""

    def __init__(self, resolution):
        super().__init__()
        self.resolution = resolution

    def forward(self, x):
        b, _, c = x.shape
        return x.view(b, self.resolution, self.resolution, c)[:, ::2, ::2].reshape(b, -1, c)


def bias_idxs(resolution, stride):
    """|drow| * R + |dcol| for queries on every stride-th row/column and keys on the whole grid."""
    grid = torch.arange(resolution)
    k = torch.stack(torch.meshgrid(grid, grid, indexing="ij")).flatten(1)
    q = torch.stack(torch.meshgrid(grid[::stride], grid[::stride], indexing="ij")).flatten(1)
    rel = (q[..., :, None] - k[..., None, :]).abs()
    return rel[0] * resolution + rel[1]


class LevitAttention(nn.Module):
    """timm's Attention (stride 1, `qkv`) and AttentionDownsample (stride 2, `kv` + `q`) in one class."""

    def __init__(self, dim, out_dim, key_dim, heads, attn_ratio, resolution, stride):
        super().__init__()
        self.heads, self.key_dim, self.val_dim = heads, key_dim, int(attn_ratio * key_dim)
        self.scale = key_dim ** -0.5
        if stride == 1:
            self.qkv = LinearNorm(dim, heads * (2 * key_dim + self.val_dim))
        else:
            self.kv = LinearNorm(dim, heads * (key_dim + self.val_dim))
            self.q = nn.Sequential(OrderedDict(down=Subsample(resolution), ln=LinearNorm(dim, heads * key_dim)))
        self.proj = nn.Sequential(OrderedDict(act=nn.Hardswish(), ln=LinearNorm(heads * self.val_dim, out_dim)))
        self.attention_biases = nn.Parameter(torch.zeros(heads, resolution ** 2))
        self.register_buffer("attention_bias_idxs", bias_idxs(resolution, stride), persistent=False)
        self.bias_cache = None

    def biases(self):
        # timm gathers the bias table once per device in eval mode and reuses it.
        if self.training:
            return self.attention_biases[:, self.attention_bias_idxs]
        if self.bias_cache is None:
            self.bias_cache = self.attention_biases[:, self.attention_bias_idxs]
        return self.bias_cache

    def forward(self, x):
        b, n, _ = x.shape
        h = self.heads
        if hasattr(self, "qkv"):
            q, k, v = self.qkv(x).view(b, n, h, -1).split([self.key_dim, self.key_dim, self.val_dim], dim=3)
            q = q.permute(0, 2, 1, 3)
        else:
            k, v = self.kv(x).view(b, n, h, -1).split([self.key_dim, self.val_dim], dim=3)
            q = self.q(x).view(b, -1, h, self.key_dim).permute(0, 2, 1, 3)
        attn = (q @ k.permute(0, 2, 3, 1) * self.scale + self.biases()).softmax(dim=-1)
        x = (attn @ v.permute(0, 2, 1, 3)).transpose(1, 2).reshape(b, -1, h * self.val_dim)
        return self.proj(x)


class LevitMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.ln1 = LinearNorm(dim, hidden)
        self.act = nn.Hardswish()
        self.ln2 = LinearNorm(hidden, dim)

    def forward(self, x):
        return self.ln2(self.act(self.ln1(x)))


class LevitBlock(nn.Module):
    def __init__(self, dim, key_dim, heads, attn_ratio, mlp_ratio, resolution):
        super().__init__()
        self.attn = LevitAttention(dim, dim, key_dim, heads, attn_ratio, resolution, 1)
        self.mlp = LevitMlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.mlp(x)


class LevitDownsample(nn.Module):
    """Attention from the subsampled grid to the full one (no residual), then x + mlp(x)."""

    def __init__(self, in_dim, out_dim, key_dim, resolution):
        super().__init__()
        self.attn_downsample = LevitAttention(in_dim, out_dim, key_dim, in_dim // key_dim, 4.0, resolution, 2)
        self.mlp = LevitMlp(out_dim, 2 * out_dim)

    def forward(self, x):
        x = self.attn_downsample(x)
        return x + self.mlp(x)


class LevitStage(nn.Module):
    def __init__(self, in_dim, out_dim, key_dim, depth, heads, attn_ratio, mlp_ratio, resolution, downsample):
        super().__init__()
        self.downsample = LevitDownsample(in_dim, out_dim, key_dim, resolution) if downsample else nn.Identity()
        resolution = (resolution - 1) // 2 + 1 if downsample else resolution
        self.blocks = nn.Sequential(*[LevitBlock(out_dim, key_dim, heads, attn_ratio, mlp_ratio, resolution) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class LevitDistilled(nn.Module):
    def __init__(self, embed_dim=(192, 288, 384), key_dim=32, num_heads=(3, 5, 6), depth=(4, 4, 4),
                 attn_ratio=2.0, mlp_ratio=2.0, img_size=224, num_classes=1000):
        super().__init__()
        e0 = embed_dim[0]
        self.stem = nn.Sequential(OrderedDict(
            conv1=ConvNorm(3, e0 // 8), act1=nn.Hardswish(), conv2=ConvNorm(e0 // 8, e0 // 4), act2=nn.Hardswish(),
            conv3=ConvNorm(e0 // 4, e0 // 2), act3=nn.Hardswish(), conv4=ConvNorm(e0 // 2, e0)))
        resolution = img_size // 16
        stages = []
        for i, dim in enumerate(embed_dim):
            stages.append(LevitStage(embed_dim[max(i - 1, 0)], dim, key_dim, depth[i], num_heads[i], attn_ratio, mlp_ratio, resolution, i > 0))
            if i > 0:
                resolution = (resolution - 1) // 2 + 1
        self.stages = nn.Sequential(*stages)
        self.head = NormLinear(embed_dim[-1], num_classes)
        self.head_dist = NormLinear(embed_dim[-1], num_classes)

    def forward_features(self, x):
        return self.stages(self.stem(x).flatten(2).transpose(1, 2))

    def forward(self, x):
        x = self.forward_features(x).mean(1)
        return (self.head(x) + self.head_dist(x)) / 2


def levit_192(num_classes=1000):
    return LevitDistilled(num_classes=num_classes)


# ---------------------------------------------------------------------------------------------
# CoAtNet (timm maxxvit.py, MaxxVit with model_cfgs['coatnet_0_rw'])
# ---------------------------------------------------------------------------------------------

class BNAct(nn.BatchNorm2d):
    """timm's BatchNormAct2d with SiLU: keys sit on the module itself."""

    def forward(self, x):
        return F.silu(super().forward(x), inplace=True)


class LayerNorm2d(nn.LayerNorm):
    def __init__(self, dim):
        super().__init__(dim, eps=1e-6)

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class Downsample2d(nn.Module):
    """'avg2' pooling, then a 1x1 conv `expand` when the width changes."""

    def __init__(self, dim, dim_out, bias=True):
        super().__init__()
        self.pool = nn.AvgPool2d(2, 2)
        self.expand = nn.Conv2d(dim, dim_out, 1, bias=bias) if dim != dim_out else nn.Identity()

    def forward(self, x):
        return self.expand(self.pool(x))


class SEModule(nn.Module):
    def __init__(self, channels, rd):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, rd, 1)
        self.fc2 = nn.Conv2d(rd, channels, 1)

    def forward(self, x):
        return x * self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True)), inplace=True)).sigmoid()


class MbConvBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        mid = 4 * cin
        self.shortcut = Downsample2d(cin, cout, bias=False) if stride == 2 else nn.Identity()
        self.pre_norm = BNAct(cin)
        self.down = Downsample2d(cin, cin) if stride == 2 else nn.Identity()
        self.conv1_1x1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.norm1 = BNAct(mid)
        self.conv2_kxk = nn.Conv2d(mid, mid, 3, 1, 1, groups=mid, bias=False)
        self.se_early = SEModule(mid, int(0.25 * mid))
        self.norm2 = BNAct(mid)
        self.conv3_1x1 = nn.Conv2d(mid, cout, 1, bias=False)

    def forward(self, x):
        shortcut = self.shortcut(x)
        x = self.norm1(self.conv1_1x1(self.down(self.pre_norm(x))))
        x = self.norm2(self.se_early(self.conv2_kxk(x)))
        return self.conv3_1x1(x) + shortcut


class RelPosBias(nn.Module):
    def __init__(self, size, heads):
        super().__init__()
        self.tokens = size * size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * size - 1) ** 2, heads))
        grid = torch.arange(size)
        pos = torch.stack(torch.meshgrid(grid, grid, indexing="ij")).flatten(1)
        rel = pos[:, :, None] - pos[:, None, :] + size - 1
        self.register_buffer("relative_position_index", rel[0] * (2 * size - 1) + rel[1], persistent=False)

    def forward(self, attn):
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return attn + bias.view(self.tokens, self.tokens, -1).permute(2, 0, 1).unsqueeze(0).contiguous()


class Attention2d(nn.Module):
    """timm's non-fused path (torch 1.13 has no SDPA): head-first qkv, q scaled before the matmul."""

    def __init__(self, dim, dim_out, size, dim_head=32):
        super().__init__()
        self.heads, self.dim_head = dim // dim_head, dim_head
        self.scale = dim_head ** -0.5
        self.qkv = nn.Conv2d(dim, 3 * dim, 1)
        self.rel_pos = RelPosBias(size, self.heads)
        self.proj = nn.Conv2d(dim, dim_out, 1)

    def forward(self, x):
        b, _, h, w = x.shape
        q, k, v = self.qkv(x).view(b, self.heads, 3 * self.dim_head, -1).chunk(3, dim=2)
        attn = self.rel_pos((q * self.scale).transpose(-2, -1) @ k).softmax(dim=-1)
        return self.proj((v @ attn.transpose(-2, -1)).view(b, -1, h, w))


class ConvMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TransformerBlock2d(nn.Module):
    def __init__(self, dim, dim_out, stride, size, dim_head):
        super().__init__()
        if stride == 2:
            self.shortcut = Downsample2d(dim, dim_out, bias=False)
            self.norm1 = nn.Sequential(OrderedDict(norm=LayerNorm2d(dim), down=Downsample2d(dim, dim)))
        else:
            self.shortcut = nn.Identity()
            self.norm1 = LayerNorm2d(dim)
        self.attn = Attention2d(dim, dim_out, size, dim_head)
        self.norm2 = LayerNorm2d(dim_out)
        self.mlp = ConvMlp(dim_out, 4 * dim_out)

    def forward(self, x):
        x = self.shortcut(x) + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class MaxxVitStage(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        return self.blocks(x)


class ClassifierHead(nn.Module):
    def __init__(self, dim, num_classes):
        super().__init__()
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


class CoAtNet(nn.Module):
    def __init__(self, embed_dim=(96, 192, 384, 768), depths=(2, 3, 7, 2), block_types=("C", "C", "T", "T"),
                 stem_width=(32, 64), dim_head=32, img_size=224, num_classes=1000):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(3, stem_width[0], 3, 2, 1, bias=False), norm1=BNAct(stem_width[0]),
            conv2=nn.Conv2d(stem_width[0], stem_width[1], 3, 1, 1, bias=False)))
        size, cin, stages = img_size // 2, stem_width[1], []
        for s, cout in enumerate(embed_dim):
            size = (size - 1) // 2 + 1  # the stage's output size: the attention window
            blocks = []
            for b in range(depths[s]):
                stride = 2 if b == 0 else 1
                blocks.append(MbConvBlock(cin, cout, stride) if block_types[s] == "C" else TransformerBlock2d(cin, cout, stride, size, dim_head))
                cin = cout
            stages.append(MaxxVitStage(blocks))
        self.stages = nn.Sequential(*stages)
        self.norm = LayerNorm2d(embed_dim[-1])
        self.head = ClassifierHead(embed_dim[-1], num_classes)

    def forward_features(self, x):
        return self.norm(self.stages(self.stem(x)))

    def forward(self, x):
        return self.head(self.forward_features(x))


def coatnet_0_rw_224(num_classes=1000):
    return CoAtNet(num_classes=num_classes)
