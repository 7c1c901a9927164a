"""The micro-LLM: a small causal transformer language model over a real token
vocabulary, shared by train.py and server.py.

Tokens: special tokens (<pad>, <bos>, <eos>, role markers), one token per
catalog title (matched greedily, longest first, where a title starts in the
text), and words, numbers and punctuation of the prompts ("\\n" is a token).
The model reads a chat as <bos> <|system|> ... <|user|> ... <|assistant|> and
generates its answer token by token; a /v1/completions prompt is read as
<bos> followed by the prompt's tokens.

Prompts are recbias's built-in templates (adapters/prompt_template.cc),
rendered here in the same words for training; the model only ever sees
tokens, so a prompt in other words still tokenizes (unknown words -> <unk>).
"""
import json
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>"]
PAD, BOS, EOS, UNK, SYSTEM, USER, ASSISTANT = range(len(SPECIALS))
WORD = re.compile(r"\n|[A-Za-z]+|\d+|[^\sA-Za-z\d]")

# recbias's built-in templates, in the words adapters/prompt_template.cc uses.
TITLES_SYSTEM = None
TITLES_USER = ("{profile}I've watched the following {item}s in the past in order:\n{history}\n\n"
               "Now there are {n} candidate {item}s that I can watch next:\n{plain}\n"
               "Please rank these {n} {item}s by measuring the possibilities that I would like to watch next most, according to "
               "my watching history.\nPlease show me your ranking results with order numbers, one {item} title per line. You MUST "
               "rank the given candidate {item}s. You can not generate {item}s that are not in the given candidate list.")
FIRST_SYSTEM = "You are a {item} recommender system. You pick the candidate {item} a user will watch next."
FIRST_USER = ("{profile}I have watched these {item}s, oldest first:\n{history}\n\nHere are {n} candidate {item}s, each with a "
              "letter:\n{lettered}\n\nWhich candidate am I most likely to watch next? Answer with its letter only.")
POINT_SYSTEM = "You are a {item} recommender system. You say whether a user will like a {item}."
POINT_USER = "{profile}I have watched these {item}s, oldest first:\n{history}\n\nWill I like the {item} \"{candidate}\"? Answer Yes or No."
LOGLIK_PROMPT = "{profile}I have watched these {item}s, oldest first:\n{history}\n\nThe next {item} I will watch is:"
JSON_SYSTEM = "You are a {item} recommender system. You rank candidate {item}s for a user and answer in JSON."
JSON_USER = ("{profile}I have watched these {item}s, oldest first:\n{history}\n\nHere are {n} candidate {item}s:\n{plain}\n\n"
             "Rank the {k} candidates I am most likely to watch next, best first. Answer with a JSON object {{\"ranking\": [...]}} "
             "holding exactly {k} titles copied from the candidates.")


def render(template, titles_by_index, history, candidates, profile=None, item="movie", k=10, candidate=None):
    """Fills a template as recbias does: history "1. Title" lines, candidate
    title lines, lettered "A. Title" lines and the profile line."""
    prof = ""
    if profile:
        prof = "User profile: " + "; ".join(f"{a}: {v}" for a, v in sorted(profile.items())) + ".\n"
    hist = "\n".join(f"{i + 1}. {titles_by_index[h]}" for i, h in enumerate(history)) or "(nothing yet)"
    plain = "\n".join(titles_by_index[c] for c in candidates)
    lettered = "\n".join(f"{chr(65 + j)}. {titles_by_index[c]}" for j, c in enumerate(candidates[:26]))
    return template.format(profile=prof, history=hist, n=len(candidates), item=item, plain=plain, lettered=lettered, k=k,
                           candidate=titles_by_index[candidate] if candidate is not None else "")


class Tokenizer:
    def __init__(self, words, titles):
        self.itos = list(SPECIALS) + list(words) + list(titles)
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.first_title = len(SPECIALS) + len(words)
        self.title_ids = {t: self.stoi[t] for t in titles}
        # Titles by their first 8 characters, longest first, for greedy matching.
        self.by_prefix = {}
        for t in sorted(titles, key=len, reverse=True):
            self.by_prefix.setdefault(t[:8], []).append(t)

    def to_json(self):
        return {"words": self.itos[len(SPECIALS):self.first_title], "titles": self.itos[self.first_title:]}

    @staticmethod
    def from_json(j):
        return Tokenizer(j["words"], j["titles"])

    def is_title(self, token_id):
        return token_id >= self.first_title

    def encode(self, text):
        """Token ids and their start offsets (code points) in `text`."""
        ids, starts = [], []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == " " or c == "\t" or c == "\r":
                i += 1
                continue
            matched = None
            for t in self.by_prefix.get(text[i:i + 8], ()):
                if text.startswith(t, i):
                    matched = t
                    break
            if matched is not None:
                ids.append(self.title_ids[matched])
                starts.append(i)
                i += len(matched)
                continue
            m = WORD.match(text, i)
            w = m.group(0)
            ids.append(self.stoi.get(w, UNK))
            starts.append(i)
            i = m.end()
        return ids, starts

    def decode(self, ids):
        out = ""
        prev = None
        for t in ids:
            if t < len(SPECIALS):
                continue
            s = self.itos[t]
            if out and s != "\n" and prev not in ("\n", "[", "(", '"') and s not in (".", ",", ":", ";", "]", ")", "?", "!", '"'):
                out += " "
            out += s
            prev = s
        return out

    def chat(self, messages):
        """<bos> (<|system|> text)? <|user|> text ... <|assistant|>."""
        ids = [BOS]
        for m in messages:
            ids.append(SYSTEM if m.get("role") == "system" else USER)
            content = m.get("content")
            if isinstance(content, list):  # OpenAI content parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            ids += self.encode(content if isinstance(content, str) else "")[0]
        ids.append(ASSISTANT)
        return ids


def build_vocabulary(titles):
    """Every word of the templates (rendered with a sample title list), the
    numbers 0-100, the capital letters, JSON punctuation and Yes/No."""
    sample = {0: "x"}
    words = set()
    for t in (TITLES_USER, FIRST_SYSTEM, FIRST_USER, POINT_SYSTEM, POINT_USER, LOGLIK_PROMPT, JSON_SYSTEM, JSON_USER):
        text = render(t, sample, [0], [0], {"age": "a", "gender": "g", "occupation": "o"}, candidate=0)
        words.update(WORD.findall(text))
    words.update(str(i) for i in range(101))
    words.update(chr(65 + i) for i in range(26))
    words.update(["Yes", "No", "{", "}", "[", "]", '"', ",", ":", "ranking", "User", "profile", "age", "gender", "occupation"])
    words.discard("x")
    return sorted(words)


class MicroLLM(nn.Module):
    def __init__(self, vocab, dim=128, layers=2, heads=4, context=512):
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab, dim)
        self.position = nn.Embedding(context, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 4, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(dim)
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, 1)
        self.prior = nn.Parameter(torch.ones(()))
        self.register_buffer("mask", torch.triu(torch.full((context, context), float("-inf")), diagonal=1), persistent=False)
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.position.weight, std=0.02)

    def forward(self, ids, rows=None):
        """Log-probabilities of the next token (causal) at every position
        ([B, T, V]), or only at `rows` = (batch indices, positions) ([N, V]):
        a pointer-generator mixture (See et al. 2017) of the vocabulary
        softmax (tied embeddings) and a copy distribution -- one attention
        over the tokens so far, its weights added to their ids -- with a
        learned gate, so the model can name what its prompt shows. The copy
        scores carry each position's token logit (a learned multiple): what
        the model would name unprompted informs which shown title it copies,
        so a model that knows which titles go together copies the right
        candidate rather than naming a title it was not shown."""
        b, t = ids.shape
        if t > self.context:
            raise ValueError(f"sequence of {t} tokens is longer than the model's context {self.context}")
        x = self.embed(ids) + self.position(torch.arange(t, device=ids.device))[None]
        x = self.blocks(x, mask=self.mask[:t, :t], src_key_padding_mask=ids.eq(PAD))
        h = self.norm(x)
        if rows is None:
            rb = torch.arange(b).repeat_interleave(t)
            rt = torch.arange(t).repeat(b)
        else:
            rb, rt = rows
        q = h[rb, rt]                                       # [N, D]
        # Copy attention of each row over its own sequence: one matmul per
        # sequence (rows come grouped by sequence, as torch.nonzero returns
        # them), never an [N, T, D] gather of the keys: the same scores, and a
        # training step about 1.1x as fast (bench/micro_llm_copy_bench.py).
        keys = self.key(h)                                  # [B, T, D]
        queries = self.query(q)                             # [N, D]
        if rows is None:
            scores = (queries.view(b, t, -1) @ keys.transpose(1, 2)).reshape(b * t, t)
        else:
            counts = torch.bincount(rb, minlength=b).tolist()
            parts = torch.split(queries, counts)
            scores = torch.cat([parts[i] @ keys[i].T for i in range(b) if counts[i]], dim=0)
        visible = (torch.arange(t)[None, :] <= rt[:, None]) & ids[rb].ne(PAD)
        out = self.head(q, scores / math.sqrt(h.size(-1)), ids[rb], visible)
        return out if rows is not None else out.view(b, t, -1)

    def head(self, q, copy_scores, row_ids, visible):
        """The output mixture for N rows: q [N, D] the final states, copy_scores
        [N, T] their query-key scores over the T positions holding row_ids
        [N, T], visible [N, T] where a row may copy from."""
        token_logits = q @ self.embed.weight.T              # [N, V]
        vocab = F.log_softmax(token_logits, dim=-1)
        # Each position's score also carries the vocabulary logit of the token
        # it holds (its next-item prediction, learned on the histories).
        scores = copy_scores + self.prior * token_logits.gather(1, row_ids)
        attention = F.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
        copy = torch.zeros(q.size(0), vocab.size(-1), dtype=attention.dtype, device=q.device)
        copy.scatter_add_(1, row_ids, attention)
        g = self.gate(q)
        return torch.logaddexp(vocab + F.logsigmoid(g), torch.log(copy.clamp_min(1e-30)) + F.logsigmoid(-g))


class Decoder:
    """Incremental decoding with a key/value cache: `extend(ids)` feeds new
    tokens and returns the next token's log-probabilities after them, the
    same as `log_softmax_last` over the whole sequence (to float rounding;
    tests/micro_llm_e2e.py compares them), at the cost of the new tokens
    only. One decoder per sequence; inference only (no_grad)."""

    def __init__(self, model):
        self.model = model
        self.ids = []
        self.layer_kv = [([], []) for _ in model.blocks.layers]   # per layer: keys, values [1, H, t, d] chunks
        self.copy_keys = []                                        # [t, D] chunks of model.key(h)

    @torch.no_grad()
    def extend(self, new_ids):
        m = self.model
        start = len(self.ids)
        if not new_ids:
            raise ValueError("Decoder.extend needs at least one token")
        if start + len(new_ids) > m.context:
            raise ValueError(f"sequence of {start + len(new_ids)} tokens is longer than the model's context {m.context}")
        self.ids += list(new_ids)
        n = len(new_ids)
        x = m.embed(torch.tensor([new_ids])) + m.position(torch.arange(start, start + n))[None]   # [1, n, D]
        for layer, (ks, vs) in zip(m.blocks.layers, self.layer_kv):
            attn = layer.self_attn
            heads, dim = attn.num_heads, attn.embed_dim
            hd = dim // heads
            q, k, v = F.linear(layer.norm1(x), attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
            split = lambda y: y.view(1, n, heads, hd).transpose(1, 2)                            # [1, H, n, hd]
            ks.append(split(k))
            vs.append(split(v))
            keys, values = torch.cat(ks, dim=2), torch.cat(vs, dim=2)                             # [1, H, t, hd]
            scores = split(q) @ keys.transpose(-1, -2) / math.sqrt(hd)                            # [1, H, n, t]
            t = start + n
            causal = torch.arange(t)[None, :] > torch.arange(start, t)[:, None]
            weights = F.softmax(scores.masked_fill(causal, float("-inf")), dim=-1)
            out = (weights @ values).transpose(1, 2).reshape(1, n, dim)
            x = x + attn.out_proj(out)
            x = x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x))))
        h = m.norm(x)[0]                                                                          # [n, D]
        self.copy_keys.append(m.key(h))
        q = h[-1:]                                                                                # [1, D]
        ids = torch.tensor([self.ids])                                                            # [1, t]
        scores = (m.query(q) @ torch.cat(self.copy_keys).T) / math.sqrt(h.size(-1))               # [1, t]
        return m.head(q, scores, ids, ids.ne(PAD))[0].double()


def save(path, model, tokenizer, config, info):
    torch.save({"state": model.state_dict(), "tokenizer": tokenizer.to_json(), "config": config, "info": info}, path)


def load(path):
    blob = torch.load(path, map_location="cpu")
    tokenizer = Tokenizer.from_json(blob["tokenizer"])
    model = MicroLLM(len(tokenizer.itos), **blob["config"])
    model.load_state_dict(blob["state"])
    model.eval()
    return model, tokenizer, blob.get("info", {})


def log_softmax_last(model, ids):
    """Log-probabilities of the next token after `ids`."""
    ids = ids[-model.context:]
    with torch.no_grad():
        return model(torch.tensor([ids]), rows=(torch.tensor([0]), torch.tensor([len(ids) - 1])))[0].double()


def sample(logprobs, temperature, top_p, generator, allowed=None):
    """Greedy at temperature 0; else temperature and nucleus sampling."""
    lp = logprobs.clone()
    if allowed is not None:
        mask = torch.full_like(lp, float("-inf"))
        mask[allowed] = 0
        lp = lp + mask
    if temperature <= 0:
        return int(torch.argmax(lp))
    p = F.softmax(lp / temperature, dim=-1)
    if top_p < 1:
        sorted_p, order = torch.sort(p, descending=True)
        keep = torch.cumsum(sorted_p, 0) - sorted_p < top_p
        keep[0] = True
        p = torch.zeros_like(p).scatter(0, order[keep], sorted_p[keep])
        p = p / p.sum()
    return int(torch.multinomial(p.float(), 1, generator=generator))


def math_log(x):
    return math.log(x) if x > 0 else float("-inf")


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
