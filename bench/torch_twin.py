#!/usr/bin/python3
"""Our U-Net against the same network in PyTorch, timed side by side.

    /usr/bin/python3 bench/torch_twin.py [--weights weights/mnist.safetensors] [--pairs 3]

Needs Debian's python3-torch (apt-get install python3-torch); not part of CI.

1. Builds the network of the weights file's config in PyTorch, loads its
   tensors, and checks that its noise prediction for bench/twin's fixed input
   equals ours (`go run ./bench/twin`).
2. Times each workload alternately, --pairs times: our `go test -bench`
   (a test binary built once) and then PyTorch in this process, with 2
   threads and OMP_WAIT_POLICY=PASSIVE (spin-waiting OpenMP collapses on a
   2-core machine that runs anything else). PyTorch gets its best: forward
   passes run traced and frozen under inference_mode, in the faster of the
   default and the channels-last memory format, and every workload with the
   faster of 1 and --threads threads (passive OpenMP threads cost a wake-up
   per operation, which dominates small batches).
3. Prints one table: median ms per call of each side and their ratio
   (ours/PyTorch; below 1 means we are faster), wall time.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts OpenMP

import argparse
import json
import math
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # shapes are fixed per trace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_safetensors(path):
    """Returns (metadata, {name: float32 numpy array})."""
    with open(path, "rb") as f:
        b = f.read()
    (hlen,) = struct.unpack("<Q", b[:8])
    header = json.loads(b[8 : 8 + hlen])
    meta = header.pop("__metadata__", {})
    data = b[8 + hlen :]
    dtypes = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
        out[name] = a.astype(np.float32)
    return meta, out


class ResBlock(nn.Module):
    def __init__(self, groups, cin, cout, tdim):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb_proj = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class AttnBlock(nn.Module):
    def __init__(self, groups, ch):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch, eps=1e-5)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, h * w).unbind(1)
        p = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(c), dim=-1)  # [n, l, l]
        a = torch.bmm(v, p.transpose(1, 2)).reshape(n, c, h, w)
        return x + self.proj(a)


class Level(nn.Module):
    def __init__(self, res, downsample=None):
        super().__init__()
        self.res = nn.ModuleList(res)
        self.downsample = downsample


class Mid(nn.Module):
    def __init__(self, res, attn):
        super().__init__()
        self.res = nn.ModuleList(res)
        self.attn = attn


class UNet(nn.Module):
    """ddpm/unet's network, with its parameter names."""

    def __init__(self, cfg):
        super().__init__()
        C, g, td = cfg["channels"], cfg["groups"], 4 * cfg["channels"]
        self.td = td
        self.time_embed = nn.Sequential(nn.Linear(td, td), nn.SiLU(), nn.Linear(td, td))
        self.label_embed = nn.Embedding(cfg["num_classes"] + 1, td) if cfg["num_classes"] > 0 else None
        self.conv_in = nn.Conv2d(cfg["in_channels"], C, 3, padding=1)
        mults, nres = cfg["channel_mults"], cfg["num_res_blocks"]
        ch, level_ch, down = C, [], []
        for i, m in enumerate(mults):
            res = []
            for _ in range(nres):
                res.append(ResBlock(g, ch, C * m, td))
                ch = C * m
            ds = nn.Conv2d(ch, ch, 3, stride=2, padding=1) if i < len(mults) - 1 else None
            down.append(Level(res, ds))
            level_ch.append(ch)
        self.down = nn.ModuleList(down)
        self.mid = Mid([ResBlock(g, ch, ch, td), ResBlock(g, ch, ch, td)], AttnBlock(g, ch) if cfg["attention"] else None)
        up = [None] * len(mults)
        for i in reversed(range(len(mults))):
            res, cin = [], ch + level_ch[i]
            for _ in range(nres):
                res.append(ResBlock(g, cin, level_ch[i], td))
                cin = level_ch[i]
            ch = level_ch[i]
            up[i] = Level(res)
        self.up = nn.ModuleList(up)
        self.out_norm = nn.GroupNorm(g, ch, eps=1e-5)
        self.conv_out = nn.Conv2d(ch, cfg["in_channels"], 3, padding=1)
        half = td // 2
        self.register_buffer("freqs", torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half))

    def forward(self, x, t, labels):
        arg = t.to(torch.float64)[:, None] * self.freqs[None, :]
        temb = self.time_embed(torch.cat([torch.sin(arg), torch.cos(arg)], 1).to(torch.float32))
        if self.label_embed is not None:
            temb = temb + self.label_embed(labels)
        h, skips = self.conv_in(x), []
        for lv in self.down:
            for r in lv.res:
                h = r(h, temb)
            skips.append(h)
            if lv.downsample is not None:
                h = lv.downsample(h)
        h = self.mid.res[0](h, temb)
        if self.mid.attn is not None:
            h = self.mid.attn(h)
        h = self.mid.res[1](h, temb)
        for i in reversed(range(len(self.up))):
            h = torch.cat([h, skips[i]], 1)
            for r in self.up[i].res:
                h = r(h, temb)
            if i > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
        return self.conv_out(F.silu(self.out_norm(h)))


def load(path):
    meta, tensors = read_safetensors(path)
    cfg = json.loads(meta["config"])
    if cfg.get("emb_scale"):
        sys.exit(f"{path}: the twin has no embedding scale (emb_scale); give it a file without one")
    net = UNet(cfg)
    state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items()}
    state["freqs"] = net.freqs
    net.load_state_dict(state, strict=True)
    return cfg, net


def check_twin(weights, net, cfg):
    """Our prediction for bench/twin's input against PyTorch's."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "eps.bin")
        subprocess.run(["go", "run", "./bench/twin", "-weights", weights, "-out", out], cwd=ROOT, check=True)
        ours = np.fromfile(out, dtype="<f4")
    n, s = 4, cfg["image_size"]
    px = cfg["in_channels"] * s * s
    x = np.sin(0.7311 * np.arange(n * px, dtype=np.float64)).astype(np.float32).reshape(n, cfg["in_channels"], s, s)
    labels = [3, 7, cfg["num_classes"], 0]
    with torch.no_grad():
        theirs = net(torch.from_numpy(x), torch.tensor([1, 250, 500, 999]), torch.tensor(labels)).numpy().ravel()
    diff = np.abs(ours - theirs).max() / np.abs(theirs).max()
    print(f"twin check: largest |ours − PyTorch| / largest |PyTorch| = {diff:.2g} over {len(ours)} values")
    if not diff < 1e-5:
        sys.exit("the PyTorch network is not ours: fix the twin before timing it")


def time_calls(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps * 1e3


def best_threads(fn, threads, reps):
    """The thread count (1 or threads) with which fn runs faster."""
    times = {}
    for n in sorted({1, threads}):
        torch.set_num_threads(n)
        times[n] = time_calls(fn, reps, warmup=1)
    torch.set_num_threads(threads)
    return min(times, key=times.get)


def torch_forward(cfg, net, batch, threads):
    s = cfg["image_size"]
    x = torch.randn(batch, cfg["in_channels"], s, s)
    t = torch.full((batch,), 500)
    labels = torch.zeros(batch, dtype=torch.long)
    best = None
    for fmt in (torch.contiguous_format, torch.channels_last):
        m = net.eval().to(memory_format=fmt)
        xi = x.contiguous(memory_format=fmt)
        with torch.inference_mode():
            traced = torch.jit.freeze(torch.jit.trace(m, (xi, t, labels)))
            fn = lambda traced=traced, xi=xi: traced(xi, t, labels)
            reps = max(3, 64 // batch)
            n = best_threads(fn, threads, reps)
            torch.set_num_threads(n)
            ms = time_calls(fn, reps, warmup=1)
            torch.set_num_threads(threads)
        if best is None or ms < best[0]:
            best = (ms, fn, n, fmt)
    net.to(memory_format=torch.contiguous_format)
    _, fn, n, fmt = best
    print(f"PyTorch forward, batch {batch}: {n} thread(s), {'channels-last' if fmt is torch.channels_last else 'default'} memory format")

    def run(reps):
        torch.set_num_threads(n)
        try:
            with torch.inference_mode():
                return time_calls(fn, reps, warmup=1)
        finally:
            torch.set_num_threads(threads)

    return run


def torch_train(cfg, channels, threads):
    c = dict(cfg, channels=channels)
    net = UNet(c).train()
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    ema = [p.detach().clone() for p in net.parameters()]
    params = list(net.parameters())
    beta = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - beta, 0).to(torch.float32)
    s, n = cfg["image_size"], 64
    x0 = torch.rand(n, cfg["in_channels"], s, s) * 2 - 1
    labels = torch.randint(0, cfg["num_classes"] + 1, (n,))

    def step():
        t = torch.randint(0, 1000, (n,))
        eps = torch.randn_like(x0)
        a = abar[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        loss = F.mse_loss(net(xt, t, labels), eps)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        with torch.no_grad():
            torch._foreach_mul_(ema, 0.999)
            torch._foreach_add_(ema, params, alpha=0.001)

    n_threads = best_threads(step, threads, 2)
    print(f"PyTorch train step, C = {channels}: {n_threads} thread(s)")

    def run(reps):
        torch.set_num_threads(n_threads)
        try:
            return time_calls(step, reps, warmup=1)
        finally:
            torch.set_num_threads(threads)

    return run


def go_bench(binary, pattern, reps):
    """ms per op of one of our benchmarks (-benchtime reps×)."""
    out = subprocess.run([binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", f"{reps}x"],
                         cwd=os.path.join(ROOT, "ddpm", "unet"), capture_output=True, text=True, check=True).stdout
    m = re.search(r"\s(\d+(?:\.\d+)?) ns/op", out)
    if not m:
        sys.exit(f"no result from {pattern}:\n{out}")
    return float(m.group(1)) / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=os.path.join(ROOT, "weights", "mnist.safetensors"))
    ap.add_argument("--pairs", type=int, default=3, help="alternating Go/PyTorch pairs per workload (the median is shown)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg, net = load(args.weights)
    check_twin(os.path.abspath(args.weights), net, cfg)
    # Our benchmarks time unet.DefaultConfig() at C channels: so must PyTorch.
    default = {"image_size": 32, "in_channels": 1, "channel_mults": [1, 2, 2], "num_res_blocks": 1,
               "attention": True, "groups": 8, "num_classes": 10}
    differ = [k for k, v in default.items() if cfg.get(k) != v]
    if differ:
        sys.exit(f"the Go benchmarks time the default network; {args.weights} differs in {', '.join(differ)}: "
                 "time a default-config file such as weights/mnist.safetensors")

    binary = os.path.join(tempfile.mkdtemp(), "unet.test")
    subprocess.run(["go", "test", "-c", "-o", binary, "./ddpm/unet"], cwd=ROOT, check=True)
    C = cfg["channels"]
    workloads = [
        (f"train step, C = {C}, batch 64", f"^BenchmarkTrainStep$/^C={C}/batch=64$", torch_train(cfg, C, args.threads), 10),
        ("train step, C = 32, batch 64", "^BenchmarkTrainStep$/^C=32/batch=64$", torch_train(cfg, 32, args.threads), 5),
    ]
    for b in (1, 16, 64):
        workloads.append((f"forward, C = {C}, batch {b}", f"^BenchmarkForward$/^C={C}/batch={b}$",
                          torch_forward(cfg, net, b, args.threads), max(3, 128 // b)))
    print(f"\nours: Go's default GOMAXPROCS ({len(os.sched_getaffinity(0))} CPUs here); PyTorch: the faster of 1 and {args.threads} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, torch {torch.__version__}, "
          f"{args.pairs} alternating pairs, medians, wall ms per call\n")
    print("| workload | ours (ms) | PyTorch (ms) | ours / PyTorch (each pair) |")
    print("|---|---|---|---|")
    for name, pattern, theirs, reps in workloads:
        ours_ms, their_ms, ratios = [], [], []
        for _ in range(args.pairs):
            o = go_bench(binary, pattern, reps)
            p = theirs(reps)
            ours_ms.append(o)
            their_ms.append(p)
            ratios.append(o / p)
        print(f"| {name} | {statistics.median(ours_ms):.1f} | {statistics.median(their_ms):.1f} | "
              f"**{statistics.median(ratios):.2f}** ({', '.join(f'{r:.2f}' for r in ratios)}) |", flush=True)


if __name__ == "__main__":
    main()
