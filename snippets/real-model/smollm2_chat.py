# --8<-- [start:load]
import torch

from llm_guide.figures.real_model import plot_top_tokens
from llm_guide.figures.style import save
from llm_guide.generate import generate, next_token_distribution
from llm_guide.llama import chat_prompt, load_gguf, parameters_by_kind, smollm2_path
from llm_guide.tokenizers import token_pieces

model, tok = load_gguf(smollm2_path())  # a few seconds: 272 tensors unpacked to float32

c = model.config
print(f"{c.n_layer} layers, width {c.n_embd}, {c.n_head} query heads sharing {c.n_kv_head} key/value heads")
for kind, n in parameters_by_kind(model).items():
    if n:  # no separate head: it is the embedding table
        print(f"{kind:>12}: {n:>11,}")
print(f"{'total':>12}: {model.num_params():>11,}  (the head is the embedding table, tied)")
# --8<-- [end:load]
# --8<-- [start:tokens]
sentence = "SmolLM2 reads 12345 tokens: it's byte-level BPE!"
ids = tok.encode(sentence)
print(len(sentence), "characters ->", len(ids), "tokens")
print(" | ".join(token_pieces(tok, ids)))
# --8<-- [end:tokens]
# --8<-- [start:chat]
prompt = chat_prompt([{"role": "user", "content": "What is the capital of France?"}])
print(prompt, end="")
idx = torch.tensor([tok.encode(prompt, allowed_special="all")])
out = generate(model, idx, max_new_tokens=24, greedy=True, kv_cache=True)
answer = tok.decode(out[0, idx.size(1) :].tolist())
print(answer.split("<|im_end|>")[0])
# --8<-- [end:chat]
# --8<-- [start:next_token]
idx = torch.tensor([tok.encode("The capital of France is")])
with torch.no_grad():
    logits, _ = model(idx)
probs = next_token_distribution(logits[0, -1], temperature=1.0)
top = probs.topk(5)
labels = [tok.decode([i]) for i in top.indices.tolist()]
for label, p in zip(labels, top.values.tolist()):
    print(f"{label!r:>10} {p:.3f}")
save(plot_top_tokens(labels, top.values.tolist(), "The capital of France is"), "real-model-next-token.svg")
# --8<-- [end:next_token]
# --8<-- [start:timing]
question = chat_prompt([{"role": "user", "content": "Write one sentence about the sea."}])
idx = torch.tensor([tok.encode(question, allowed_special="all")])
n = 8
read: dict[bool, list[int]] = {False: [], True: []}  # tokens the model reads at each step
outputs = {}
for kv_cache in (False, True):
    hook = model.register_forward_pre_hook(lambda module, args, kv=kv_cache: read[kv].append(args[0].size(1)))
    outputs[kv_cache] = generate(model, idx, max_new_tokens=n, greedy=True, kv_cache=kv_cache)
    hook.remove()
print(f"a prompt of {idx.size(1)} tokens, then {n} more, greedy")
print("tokens read per step without the cache:", read[False])
print("tokens read per step with the cache:   ", read[True])
print("the same tokens with and without the cache:", torch.equal(outputs[False], outputs[True]))
# --8<-- [end:timing]
