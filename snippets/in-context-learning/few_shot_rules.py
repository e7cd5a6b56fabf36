# --8<-- [start:train]
import copy

import torch

from llm_guide.generate import generate
from llm_guide.icl import RULES, few_shot_prompt, rule_batch, rule_tokenizer, train_on_batches, weights_fingerprint
from llm_guide.model import GPT, GPTConfig

tok = rule_tokenizer()
threads = torch.get_num_threads()
torch.set_num_threads(1)  # tiny models: one thread beats two that wait for each other

torch.manual_seed(0)
rule_config = GPTConfig(vocab_size=tok.vocab_size, block_size=17, n_layer=2, n_head=4, n_embd=64, fast=True)
rule_model = GPT(rule_config)
rule_losses = train_on_batches(rule_model, lambda g: rule_batch(tok, 32, generator=g), steps=250, lr=3e-3)
torch.set_num_threads(threads)
print(
    f"{rule_model.num_params():,} parameters; "
    f"loss {rule_losses[0]:.3f} at the first step, {rule_losses[-1]:.3f} at the last"
)
# --8<-- [end:train]
# --8<-- [start:answer]
C, d = tok.encode("C")[0], tok.encode("d")[0]
before = weights_fingerprint(rule_model)
print(f"{'prompt':<14} {'P(C)':>6} {'P(d)':>6}  answer")
for rule in RULES:
    for k in range(4):
        prompt = few_shot_prompt(rule, "amq"[:k], "c")
        ids = torch.tensor([tok.encode(prompt)])
        with torch.no_grad():
            probs = torch.softmax(rule_model(ids)[0][0, -1], dim=-1)
        answer = tok.decode(generate(rule_model, ids, max_new_tokens=1, greedy=True)[0, -1:].tolist())
        print(f"{prompt!r:<14} {probs[C]:6.2f} {probs[d]:6.2f}  {answer}")
after = weights_fingerprint(rule_model)
print(
    f"fingerprint after answering: {'unchanged' if before == after else 'CHANGED'} "
    f"({len(before)} hex digits of SHA-256 over every weight)"
)
# --8<-- [end:answer]
# --8<-- [start:one_step]
student = copy.deepcopy(rule_model)
optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3)
x, y = rule_batch(tok, 32, generator=torch.Generator().manual_seed(1))
student(x, y)[1].backward()
optimizer.step()
pairs = zip(student.state_dict().values(), rule_model.state_dict().values())
changed = sum(not torch.equal(a, b) for a, b in pairs)
print(
    f"after one training step: fingerprint "
    f"{'changed' if weights_fingerprint(student) != before else 'unchanged'}, "
    f"{changed} of {len(student.state_dict())} tensors differ"
)
# --8<-- [end:one_step]
