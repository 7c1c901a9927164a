"""Train recbias's reference LLM-style recommender and export it as TorchScript.

A small transformer listwise ranker in the P5 spirit: one token sequence per
request -- the user's attribute tokens, the user's history items (oldest
first), then the candidate items in the order they are presented -- and one
score per candidate token. Candidate tokens carry an embedding of their
presented position, as an LLM prompt does, so the model *can* prefer
positions; --position-skew makes the training lists put the true item first
more often than chance (as hand-built prompt data often does), which teaches
it a primacy bias of known origin for the audit to find. --position-skew 0
trains a model with no such incentive.

Input is the leave-one-out split written by `recbias datasets split`, so the
model never sees the held-out items the audit tests it on. Output: MODEL.pt
and its side-car MODEL.json per the TorchScript contract in DESIGN.md.

    python3 train.py --split split.json --out model.pt [--epochs 4] [--seed 0]

Runs on Debian's python3-torch on CPU; prints validation NDCG@10 on 1 + 19
candidates (uniform negatives) for the model and for popularity.
"""
import argparse
import json
import math
import os
import random
import sys
import time
import warnings

import torch
from torch import nn


class ReferenceRecommender(nn.Module):
    def __init__(self, n_items: int, attribute_sizes, dim: int, layers: int, heads: int,
                 max_history: int, max_candidates: int):
        super().__init__()
        self.max_history = max_history
        self.max_candidates = max_candidates
        self.n_attributes = len(attribute_sizes)
        offsets = [0]
        for size in attribute_sizes:
            offsets.append(offsets[-1] + size + 1)  # +1: slot value 0 = not stated
        self.register_buffer("attribute_offsets", torch.tensor(offsets[:-1] or [0], dtype=torch.long))
        self.item = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.item_bias = nn.Embedding(n_items + 1, 1, padding_idx=0)
        self.attribute = nn.Embedding(max(offsets[-1], 1), dim)
        self.segment = nn.Embedding(3, dim)  # 0 attribute, 1 history, 2 candidate
        self.history_position = nn.Embedding(max_history, dim)
        self.candidate_position = nn.Embedding(max_candidates, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, dim)
        # Small embeddings (as in BERT/GPT): nothing, positions included,
        # dominates the scores before training has said it should.
        for table in (self.item, self.attribute, self.segment, self.history_position, self.candidate_position):
            nn.init.normal_(table.weight, std=0.02)
        nn.init.zeros_(self.item_bias.weight)
        with torch.no_grad():
            self.item.weight[0].zero_()  # padding

    def forward(self, history: torch.Tensor, attributes: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        if history.size(1) > self.max_history:
            history = history[:, history.size(1) - self.max_history:]
        b = candidates.size(0)
        k = candidates.size(1)
        h = history.size(1)
        device = candidates.device
        parts = []
        masks = []
        if self.n_attributes > 0:
            a = attributes[:, : self.n_attributes] + self.attribute_offsets.unsqueeze(0)
            parts.append(self.attribute(a) + self.segment.weight[0])
            masks.append(torch.zeros(b, self.n_attributes, dtype=torch.bool, device=device))
        hist_pos = torch.arange(h, device=device).clamp(max=self.max_history - 1)
        parts.append(self.item(history) + self.history_position(hist_pos).unsqueeze(0) + self.segment.weight[1])
        masks.append(history == 0)
        cand_pos = torch.arange(k, device=device).clamp(max=self.max_candidates - 1)
        cand_items = self.item(candidates)
        parts.append(cand_items + self.candidate_position(cand_pos).unsqueeze(0) + self.segment.weight[2])
        masks.append(candidates == 0)
        x = torch.cat(parts, dim=1)
        mask = torch.cat(masks, dim=1)
        y = self.encoder(x, src_key_padding_mask=mask)
        c = self.norm(y[:, x.size(1) - k:, :])
        return (self.head(c) * cand_items).sum(-1) + self.item_bias(candidates).squeeze(-1)


def ndcg_at(rank: int, cutoff: int = 10) -> float:
    return 1.0 / math.log2(rank + 2) if rank < cutoff else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", required=True, help="JSON written by `recbias datasets split`")
    ap.add_argument("--out", required=True, help="MODEL.pt; the side-car is written beside it as MODEL.json")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--targets-per-user", type=int, default=16, help="training targets drawn per user and epoch")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--max-history", type=int, default=30)
    ap.add_argument("--negatives", type=int, default=19)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--position-skew", type=float, default=0.1,
                    help="probability that a training list shows the true item first (default 0.1)")
    ap.add_argument("--attribute-dropout", type=float, default=0.5,
                    help="probability that a training list leaves an attribute unstated (default 0.5)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("RECBIAS_TRAIN_THREADS", "0")) or None)
    args = ap.parse_args()
    if not args.out.endswith(".pt"):
        print(f"error: --out {args.out}: expected a path ending in .pt (the side-car gets .json)", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    started = time.time()

    try:
        split = json.load(open(args.split, encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"error: cannot read the split {args.split}: {e}", file=sys.stderr)
        return 2
    if split.get("format") != "recbias.split/1":
        print(f"error: {args.split}: field format is {split.get('format')!r}, expected 'recbias.split/1' "
              "(write it with `recbias datasets split`)", file=sys.stderr)
        return 2
    items = [it["id"] for it in split["items"]]
    index = {iid: i + 1 for i, iid in enumerate(items)}  # 0 = padding
    n_items = len(items)
    attributes = split["attributes"]
    value_index = [{v: j + 1 for j, v in enumerate(a["values"])} for a in attributes]

    users = []  # (attribute indices, training item indices)
    for u in split["users"]:
        seq = [index[i] for i in u["train"]]
        if len(seq) < 3:
            continue
        attrs = [value_index[j].get(u["attributes"].get(a["name"]), 0) for j, a in enumerate(attributes)]
        users.append((attrs, seq))
    # Validation: each user's last training item (the held-out test item is never read).
    popularity = [0] * (n_items + 1)
    for _, seq in users:
        for i in seq[:-1]:
            popularity[i] += 1

    K = args.negatives + 1
    H = args.max_history

    def negatives(rng, seen):
        out = set()
        while len(out) < args.negatives:
            j = rng.randint(1, n_items)
            if j not in seen:
                out.add(j)
        # A set iterates small integers in about ascending order; left so, the
        # one item out of order would give the positive away.
        out = list(out)
        rng.shuffle(out)
        return out

    def make_batch(rows, rng, skew, dropout):
        b = len(rows)
        hist = torch.zeros(b, H, dtype=torch.long)
        attr = torch.zeros(b, max(len(attributes), 1), dtype=torch.long)
        cand = torch.zeros(b, K, dtype=torch.long)
        target = torch.zeros(b, dtype=torch.long)
        for r, (attrs, seq, t, seen) in enumerate(rows):
            h = seq[max(0, t - H):t]
            if h:
                hist[r, H - len(h):] = torch.tensor(h)
            for j, v in enumerate(attrs):
                attr[r, j] = 0 if rng.random() < dropout else v
            cands = negatives(rng, seen)
            pos = 0 if rng.random() < skew else rng.randrange(K)
            cands.insert(pos, seq[t])
            cand[r] = torch.tensor(cands)
            target[r] = pos
        return hist, attr[:, : len(attributes)], cand, target

    model = ReferenceRecommender(n_items, [len(a["values"]) for a in attributes], args.dim, args.layers, args.heads,
                                 H, max(100, K))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    rng = random.Random(args.seed)
    seen_sets = [set(seq) for _, seq in users]
    steps_per_epoch = math.ceil(len(users) * args.targets_per_user / args.batch)
    total_steps = steps_per_epoch * args.epochs
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=total_steps, pct_start=0.1)
    print(f"training on {len(users)} users, {n_items} items, {len(attributes)} attributes; "
          f"{args.epochs} epochs x {steps_per_epoch} steps of {args.batch}", flush=True)
    for epoch in range(args.epochs):
        model.train()
        rows = []
        for u, (attrs, seq) in enumerate(users):
            train_len = len(seq) - 1  # the last training item is the validation target
            for t in rng.sample(range(1, train_len), min(args.targets_per_user, train_len - 1)):
                rows.append((attrs, seq, t, seen_sets[u]))
        rng.shuffle(rows)
        total = 0.0
        for s in range(0, len(rows), args.batch):
            hist, attr, cand, target = make_batch(rows[s:s + args.batch], rng, args.position_skew, args.attribute_dropout)
            loss = nn.functional.cross_entropy(model(hist, attr, cand), target)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if scheduler.last_epoch < total_steps - 1:
                scheduler.step()
            total += loss.item() * len(target)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / len(rows):.4f} ({time.time() - started:.0f} s)", flush=True)

    # Validation on the last training item, uniform candidate order and neutral profile.
    model.eval()
    vrng = random.Random(args.seed + 1)
    rows = [(attrs, seq, len(seq) - 1, seen_sets[u]) for u, (attrs, seq) in enumerate(users)]
    model_ndcg = pop_ndcg = 0.0
    with torch.no_grad():
        for s in range(0, len(rows), 512):
            hist, attr, cand, target = make_batch(rows[s:s + 512], vrng, 0.0, 1.0)
            scores = model(hist, attr, cand)
            pop = torch.tensor([[popularity[int(i)] + vrng.random() * 1e-3 for i in row] for row in cand])
            for scored, acc in ((scores, "model"), (pop, "pop")):
                rank = (scored > scored.gather(1, target.unsqueeze(1))).sum(1)
                v = sum(ndcg_at(int(r)) for r in rank)
                if acc == "model":
                    model_ndcg += v
                else:
                    pop_ndcg += v
    n = len(rows)
    print(f"validation NDCG@10 on 1 + {args.negatives} candidates ({n} users): "
          f"model {model_ndcg / n:.4f}, popularity {pop_ndcg / n:.4f}", flush=True)

    # torch 1.13 warns about nn.TransformerEncoderLayer's own constants; harmless.
    warnings.filterwarnings("ignore", message=".*was found in ScriptModule constants.*")
    scripted = torch.jit.script(model)
    tmp = args.out + ".tmp"
    scripted.save(tmp)
    sidecar = {
        "format": "recbias.torchscript/1",
        "items": items,
        "attributes": [{"name": a["name"], "values": a["values"]} for a in attributes],
        "max_history": H,
        "trained_on": {"dataset": split.get("dataset"), "users": len(users), "epochs": args.epochs,
                       "position_skew": args.position_skew, "seed": args.seed,
                       "validation_ndcg10": {"model": round(model_ndcg / n, 4), "popularity": round(pop_ndcg / n, 4)}},
    }
    side = args.out[:-3] + ".json"
    with open(side + ".tmp", "w", encoding="utf-8") as f:
        json.dump(sidecar, f, indent=1)
    os.replace(side + ".tmp", side)
    os.replace(tmp, args.out)  # the model last: a present .pt means a complete pair
    print(f"wrote {args.out} and {side} in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
