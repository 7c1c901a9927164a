"""The micro-LLM's copy attention, side by side in one run: the per-sequence
matmuls of examples/micro-llm/micro_llm.py against the earlier [N, T, D]
gather of the keys (re-implemented here as the reference), on one training
step (forward and backward) of a batch shaped like train.py's (24 prompts of
~300 tokens, ~5% of positions carrying loss). Prints the time ratio and the
largest difference of the log-probabilities and gradients.

    python3 bench/micro_llm_copy_bench.py [repeats]
"""
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples", "micro-llm"))
import micro_llm as M  # noqa: E402


def gather_forward(model, ids, rows):
    """micro_llm.MicroLLM.forward with the copy scores from an [N, T, D] gather (before 2026-11-30)."""
    b, t = ids.shape
    x = model.embed(ids) + model.position(torch.arange(t))[None]
    x = model.blocks(x, mask=model.mask[:t, :t], src_key_padding_mask=ids.eq(M.PAD))
    h = model.norm(x)
    rb, rt = rows
    q = h[rb, rt]
    vocab = F.log_softmax(q @ model.embed.weight.T, dim=-1)
    scores = (model.query(q)[:, None, :] @ model.key(h)[rb].transpose(1, 2))[:, 0] / math.sqrt(h.size(-1))
    visible = (torch.arange(t)[None, :] <= rt[:, None]) & ids[rb].ne(M.PAD)
    attention = F.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
    copy = torch.zeros(q.size(0), vocab.size(-1), dtype=attention.dtype)
    copy.scatter_add_(1, ids[rb], attention)
    g = model.gate(q)
    return torch.logaddexp(vocab + F.logsigmoid(g), torch.log(copy.clamp_min(1e-30)) + F.logsigmoid(-g))


def step(model, forward, ids, rows):
    model.zero_grad()
    out = forward(ids[:, :-1], rows)
    out.gather(1, ids[rows[0], rows[1] + 1][:, None]).mean().backward()
    return out.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = M.MicroLLM(1904)
    ids = torch.randint(10, 1904, (24, 300))
    ids[3, 250:] = M.PAD
    rows = torch.nonzero(torch.rand(24, 299) < 0.05, as_tuple=True)
    new = lambda x, r: model(x, rows=r)  # noqa: E731
    old = lambda x, r: gather_forward(model, x, r)  # noqa: E731
    out_new, grad_new = step(model, new, ids, rows)
    out_old, grad_old = step(model, old, ids, rows)
    times = {"per-sequence matmuls": [], "[N, T, D] gather": []}
    for _ in range(repeats):  # interleaved, so load changes hit both alike
        for name, f in (("per-sequence matmuls", new), ("[N, T, D] gather", old)):
            start = time.perf_counter()
            step(model, f, ids, rows)
            times[name].append(time.perf_counter() - start)
    median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print(f"rows with loss: {rows[0].numel()}, batch {tuple(ids.shape)}, {repeats} steps each")
    for k, v in median.items():
        print(f"  {k:<22} {v * 1000:8.1f} ms per training step (median)")
    print(f"ratio gather / per-sequence: {median['[N, T, D] gather'] / median['per-sequence matmuls']:.2f}x")
    print(f"largest difference: log-probabilities {float((out_new - out_old).abs().max()):.2e}, "
          f"gradients {max(float((a - b).abs().max()) for a, b in zip(grad_new, grad_old)):.2e}")


if __name__ == "__main__":
    main()
