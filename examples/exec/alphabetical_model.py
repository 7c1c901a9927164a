import json, sys                                   # recbias exec protocol: one JSON object per line
for line in sys.stdin:                             # a request: id, k, user {id, attributes, history}, candidates
    request = json.loads(line)
    candidates = [c["id"] for c in request["candidates"]]
    titles = [c["title"] for c in request["candidates"]]
    # A real model would build a prompt from request["user"]["history"] and titles here.
    ranking = sorted(candidates, key=lambda i: titles[candidates.index(i)])[: request["k"]]
    answer = {"id": request["id"], "ranking": ranking}  # or "positions": [...], or "text": raw LLM output
    print(json.dumps(answer), flush=True)         # one answer per line, same id; flush every line
