"""An OpenAI-compatible server for the micro-LLM (Python standard library +
torch): /v1/models, /v1/chat/completions, /v1/completions.

Honours temperature, top_p, seed, max_tokens, stop, presence_penalty and
frequency_penalty (on the titles already generated), logprobs / top_logprobs
(chat: OpenAI's choices[0].logprobs.content; completions: token_logprobs,
tokens, text_offset and top_logprobs), echo (completions), n = 1, and
response_format {"type": "json_schema"} for schemas of recbias's shape (an
object with one array of enum strings, minItems/maxItems), enforced by
masking during decoding: only an allowed, unused title can be chosen at each
step, exactly the schema's count; the JSON text is written around the
chosen titles. Every answer is generated token by token by the model.
Requests are served by a thread each and queued on one lock around the
model; responses go out with TCP_NODELAY. `usage` counts the model's tokens.

    python3 server.py --model micro.pt [--host 127.0.0.1] [--port 8000] [--ignore-response-format]

--ignore-response-format makes it a server that silently ignores the
constraint (as some do), for testing that recbias reports it. It prints
"listening on http://HOST:PORT" once ready (port 0 picks a free one).
"""
import argparse
import http.server
import json
import socket
import sys
import threading
import time

import torch

import micro_llm as M

LOCK = threading.Lock()
STATE = {}


def first_step(ids):
    return M.log_softmax_last(STATE["model"], ids)


def top_list(logprobs, n):
    tok = STATE["tok"]
    values, order = torch.topk(logprobs, min(n, logprobs.numel()))
    return [{"token": tok.itos[int(i)], "logprob": float(v), "bytes": list(tok.itos[int(i)].encode())} for v, i in zip(values, order)]


def schema_of(body):
    """(enum titles, count) of a recbias-shaped JSON schema, or None."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    schema = (fmt.get("json_schema") or {}).get("schema") or {}
    props = schema.get("properties") or {}
    if len(props) != 1:
        raise ValueError("response_format: only an object with one array property is supported")
    key, array = next(iter(props.items()))
    enum = ((array or {}).get("items") or {}).get("enum")
    if array.get("type") != "array" or not isinstance(enum, list) or not enum:
        raise ValueError("response_format: the property must be an array of enum strings")
    count = int(array.get("maxItems", array.get("minItems", len(enum))))
    return key, [str(e) for e in enum], min(count, len(enum))


def generate(prompt_ids, body, constrained):
    """The answer's text, its token ids, per-token logprob entries, finish reason."""
    tok, model = STATE["tok"], STATE["model"]
    temperature = float(body.get("temperature", 1.0))
    top_p = float(body.get("top_p", 1.0))
    max_tokens = int(body.get("max_tokens") or 256)
    want_top = int(body.get("top_logprobs") or 0) if body.get("logprobs") else 0
    stops = body.get("stop") or []
    stops = [stops] if isinstance(stops, str) else list(stops)
    gen = torch.Generator().manual_seed(int(body.get("seed", 0)) & 0x7FFFFFFFFFFFFFFF)
    ids = list(prompt_ids)
    out, entries = [], []
    # A key/value cache (M.Decoder): each step costs its new tokens only.
    # Beyond the model's context, the sliding window of log_softmax_last
    # over the whole sequence, as before.
    decoder = M.Decoder(model)
    fed = 0

    def next_logprobs():
        nonlocal fed
        if len(ids) > model.context:
            return first_step(ids)
        lp = decoder.extend(ids[fed:])
        fed = len(ids)
        return lp

    if constrained is not None:
        key, enum, count = constrained
        allowed = [tok.title_ids[t] for t in enum if t in tok.title_ids]
        chosen = []
        comma = tok.stoi[","]
        for _ in range(min(count, len(allowed))):
            lp = next_logprobs()
            left = [a for a in allowed if a not in chosen]
            t = M.sample(lp, temperature, top_p, gen, allowed=left)
            chosen.append(t)
            ids += [t, comma]
            out += [t, comma]
        text = M.dumps({key: [tok.itos[t] for t in chosen]})
        return text, out, entries, "stop", len(chosen)
    finish = "length"
    steps = 0
    presence = float(body.get("presence_penalty") or 0)
    frequency = float(body.get("frequency_penalty") or 0)
    counts = {}
    for _ in range(max_tokens):
        steps += 1
        lp = next_logprobs()
        if counts and (presence or frequency):  # OpenAI's penalties on tokens already generated
            penalised = lp.clone()
            for token, c in counts.items():
                penalised[token] -= presence + frequency * c
            t = M.sample(torch.log_softmax(penalised, dim=-1), temperature, top_p, gen)
        else:
            t = M.sample(lp, temperature, top_p, gen)
        if STATE["tok"].is_title(t):
            counts[t] = counts.get(t, 0) + 1
        if want_top or body.get("logprobs"):
            entries.append({"token": tok.itos[t], "logprob": float(lp[t]), "bytes": list(tok.itos[t].encode()),
                            "top_logprobs": top_list(lp, want_top) if want_top else []})
        if t == M.EOS:
            finish = "stop"
            break
        ids.append(t)
        out.append(t)
        text = tok.decode(out)
        if any(s and s in text for s in stops):
            finish = "stop"
            break
    text = tok.decode(out)
    for s in stops:
        if s and s in text:
            text = text[:text.index(s)]
    return text, out, entries, finish, steps


def chat(body):
    tok = STATE["tok"]
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages: expected a non-empty array")
    ids = tok.chat(messages)
    constrained = None if STATE["ignore_format"] else schema_of(body)
    text, out, entries, finish, steps = generate(ids, body, constrained)
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
    if body.get("logprobs"):
        choice["logprobs"] = {"content": entries}
    return {"id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()), "model": STATE["name"],
            "choices": [choice], "usage": {"prompt_tokens": len(ids), "completion_tokens": steps, "total_tokens": len(ids) + steps}}


def completion(body):
    tok = STATE["tok"]
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ValueError("prompt: expected a string")
    ids, starts = tok.encode(prompt)
    ids = [M.BOS] + ids
    logprobs_n = body.get("logprobs")
    echo = bool(body.get("echo"))
    text, out, entries, finish, steps = generate(ids, dict(body, logprobs=bool(logprobs_n), top_logprobs=logprobs_n or 0), None)
    choice = {"index": 0, "text": (prompt if echo else "") + text, "finish_reason": finish, "logprobs": None}
    if logprobs_n is not None:
        tokens, values, offsets, tops = [], [], [], []
        if echo:
            with torch.no_grad():
                lp = STATE["model"](torch.tensor([ids[-STATE["model"].context:]]))[0].double()
            for p in range(1, len(ids)):
                t = ids[p]
                tokens.append(tok.itos[t])
                values.append(None if p == 1 else float(lp[p - 1, t]))
                offsets.append(starts[p - 1])
                tops.append(None if p == 1 else {e["token"]: e["logprob"] for e in top_list(lp[p - 1], int(logprobs_n))})
        at = len(prompt) if echo else 0
        for e in entries:
            tokens.append(e["token"])
            values.append(e["logprob"])
            offsets.append(at)
            at += len(e["token"]) + 1
            tops.append({x["token"]: x["logprob"] for x in e["top_logprobs"]})
        choice["logprobs"] = {"tokens": tokens, "token_logprobs": values, "text_offset": offsets, "top_logprobs": tops}
    return {"id": f"cmpl-{time.time_ns()}", "object": "text_completion", "created": int(time.time()), "model": STATE["name"],
            "choices": [choice], "usage": {"prompt_tokens": len(ids), "completion_tokens": steps, "total_tokens": len(ids) + steps}}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            self.reply(200, {"object": "list", "data": [{"id": STATE["name"], "object": "model", "owned_by": "recbias"}]})
        else:
            self.reply(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            route = self.path.rstrip("/")
            if route not in ("/v1/chat/completions", "/v1/completions"):
                self.reply(404, {"error": {"message": f"no route {self.path}"}})
                return
            with LOCK:
                result = chat(body) if route == "/v1/chat/completions" else completion(body)
        except (ValueError, KeyError, TypeError) as e:
            self.reply(400, {"error": {"message": str(e), "type": "invalid_request_error"}})
            return
        self.reply(200, result)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--name", default="micro-llm")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ignore-response-format", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, tok, info = M.load(args.model)
    STATE.update(model=model, tok=tok, name=args.name, ignore_format=args.ignore_response_format, info=info)
    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
