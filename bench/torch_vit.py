"""PyTorch CPU reference speed for bench/engines.ts (never used by the product).

Builds a CLIP-shaped ViT with torch.nn and random weights, runs the same
request the TypeScript bench gives the engines (residual tokens and
head-averaged attention at some blocks, optionally the V-V stream from a
block, the global feature) and prints one JSON line with seconds per image.

Usage: python3 torch_vit.py '{"width":768,"layers":12,"heads":12,"patch":16,
  "size":224,"mlp":3072,"embed":512,"images":2,"warmup":1,"out_layers":[3,6],
  "vv_from":2,"threads":null}'

threads null keeps PyTorch's defaults (with Debian's build: one intra-op
thread, while OpenBLAS runs its own pool over all cores).
"""
import json
import sys
import time

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, mlp)
        self.c_proj = nn.Linear(mlp, d)

    def heads_of(self, t):  # [B, T, D] -> [B, H, T, hd]
        b, n, d = t.shape
        return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def merge(self, o):  # [B, H, T, hd] -> [B, T, D]
        b, h, n, hd = o.shape
        return o.transpose(1, 2).reshape(b, n, h * hd)

    def forward(self, x, x_vv=None):
        q, k, v = self.qkv(self.ln_1(x)).chunk(3, dim=-1)
        scale = (q.shape[-1] // self.heads) ** -0.5
        qh, kh, vh = self.heads_of(q * scale), self.heads_of(k), self.heads_of(v)
        probs = torch.softmax(qh @ kh.transpose(-1, -2), dim=-1)  # [B, H, T, T]
        x = x + self.out_proj(self.merge(probs @ vh))
        if x_vv is not None:  # V-V attention: softmax(v v^T hd^-0.5) v, no MLP
            pvv = torch.softmax((vh * scale) @ vh.transpose(-1, -2), dim=-1)
            x_vv = x_vv + self.out_proj(self.merge(pvv @ vh))
        h = self.c_fc(self.ln_2(x))
        x = x + self.c_proj(h * torch.sigmoid(1.702 * h))
        return x, probs.mean(dim=1), x_vv


class VisionTower(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["width"]
        g = c["size"] // c["patch"]
        self.conv1 = nn.Conv2d(3, d, c["patch"], c["patch"], bias=False)
        self.cls = nn.Parameter(torch.randn(d) * 0.02)
        self.pos = nn.Parameter(torch.randn(1 + g * g, d) * 0.01)
        self.ln_pre = nn.LayerNorm(d)
        self.blocks = nn.ModuleList(Block(d, c["heads"], c["mlp"]) for _ in range(c["layers"]))
        self.ln_post = nn.LayerNorm(d)
        self.proj = nn.Linear(d, c["embed"], bias=False)
        self.out_layers = set(c["out_layers"])
        self.vv_from = c.get("vv_from") or 0

    def forward(self, px):
        p = self.conv1(px).flatten(2).transpose(1, 2)  # [B, g*g, D]
        cls = self.cls.expand(p.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, p], dim=1) + self.pos)
        outs, x_vv = [], None
        for i, blk in enumerate(self.blocks, start=1):
            if i == self.vv_from:
                x_vv = x
            x, attn, x_vv = blk(x, x_vv)
            if i in self.out_layers:
                outs.append((x, attn))
                if x_vv is not None:
                    lv = self.ln_post(x_vv)
                    outs.append((lv, self.proj(lv)))
        return self.proj(self.ln_post(x[:, 0])), self.proj(x[:, 0]), outs


def main():
    c = json.loads(sys.argv[1])
    if c.get("threads"):  # default: PyTorch's own choice, as a user runs it
        torch.set_num_threads(c["threads"])
    torch.manual_seed(0)
    model = VisionTower(c).eval()
    px = torch.randn(1, 3, c["size"], c["size"])
    with torch.no_grad():
        for _ in range(c.get("warmup", 1)):
            model(px)
        t0 = time.perf_counter()
        for _ in range(c["images"]):
            model(px)
        dt = (time.perf_counter() - t0) / c["images"]
    print(json.dumps({"s_per_image": dt, "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
