# A small listwise scorer for the benchmarks (item embeddings, attention of each
# candidate over the history), scripted with Debian's python3-torch and saved
# with its recbias side-car. Usage: python3 scorer_model.py OUT_DIR N_ITEMS
import json, sys, torch
out, n_items = sys.argv[1], int(sys.argv[2])
class Scorer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(n_items + 1, 64, padding_idx=0)
        self.attn = torch.nn.MultiheadAttention(64, 4, batch_first=True)
        self.ff = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64))
    def forward(self, history: torch.Tensor, attributes: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        h = self.emb(history)
        c = self.emb(candidates)
        ctx, _ = self.attn(c, h, h, key_padding_mask=(history == 0), need_weights=False)
        return (self.ff(ctx) * c).sum(-1)
torch.jit.script(Scorer().eval()).save(out + "/scorer.pt")
json.dump({"format": "recbias.torchscript/1", "items": [str(i) for i in range(n_items)],
           "attributes": [], "max_history": 50}, open(out + "/scorer.json", "w"))
