# --8<-- [start:train]
import torch

from llm_guide import corpora
from llm_guide.attention import attention_maps  # shown below
from llm_guide.figures.attention import plot_attention_maps
from llm_guide.figures.style import save
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import WordTokenizer
from llm_guide.train import TrainConfig, train

story = corpora.cat_story()
tok = WordTokenizer.from_text(story)
data = torch.tensor(tok.encode(story))

torch.manual_seed(0)
model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=32))
threads = torch.get_num_threads()
torch.set_num_threads(1)  # a model this small runs faster on one thread than split across cores
config = TrainConfig(steps=200, batch_size=None, lr=1e-2, progress=False)
result = train(model, data, config=config)
torch.set_num_threads(threads)
print(f"{len(data)} words; loss {result.evals[0].train_loss:.3f} -> {result.final_loss:.3f}")
# --8<-- [end:train]
# --8<-- [start:maps]
sentence = "The cat sat on the mat . The"
idx = torch.tensor([tok.encode(sentence)])  # (1, 8)
words = sentence.split()
(maps,) = attention_maps(model, idx)  # one layer: (B, nh, T, T) = (1, 2, 8, 8)
print(tuple(maps.shape))
for h in range(maps.size(1)):
    looks = [f"{words[i]}->{words[int(maps[0, h, i].argmax())]}" for i in range(len(words))]
    print(f"head {h}: " + "  ".join(looks))
save(plot_attention_maps({f"head {h}": maps[0, h] for h in range(2)}, words), "attention-maps.svg")
# --8<-- [end:maps]
# --8<-- [start:relay]
prompt = "The cat sat"
idx = torch.tensor([tok.encode(prompt)])
model.eval()
with torch.no_grad():
    tr = model.transformer
    pieces = tok.vocab.decode(idx[0].tolist())  # Tess
    tok_vectors = tr.embed.wte(idx)  # Emil
    pos_vectors = tr.embed.wpe(torch.arange(idx.size(1)))  # Pia
    x = tok_vectors + pos_vectors
    (weights,) = attention_maps(model, idx)  # Ava
    hidden = tr.h[0](x)  # the analysts
    logits = model.lm_head(tr.ln_f(hidden))  # the scoring panel
    probs = torch.softmax(logits[0, -1], dim=-1)  # Sol
    next_id = int(probs.argmax())  # Ned


def top3(values: torch.Tensor, digits: int) -> dict[str, float]:
    """The three largest entries of ``values``, by word."""
    top = values.topk(3)
    return {tok.vocab.itos[i]: round(v, digits) for i, v in zip(top.indices.tolist(), top.values.tolist())}


torch.set_printoptions(precision=2, sci_mode=False)
print("Tess, the receptionist (tokenizer):", repr(prompt), "->", pieces)
print("Ivo, the cataloguer (ids):         ", idx, tuple(idx.shape))
print("Emil, the meaning clerk (wte):     ", tuple(tok_vectors.shape), tok_vectors[0, 1, :4], "... ('cat')")
print("Pia, the seating clerk (wpe):      ", tuple(pos_vectors.shape), "added ->", tuple(x.shape))
sat_row = [[round(w, 3) for w in head] for head in weights[0, :, 2].tolist()]  # row 2 of each head
print("Ava, the attention coordinator:    ", tuple(weights.shape), "'sat' looks at The/cat/sat:", sat_row)
print("The analysts (block):              ", tuple(hidden.shape))
print("The scoring panel (logits):        ", tuple(logits.shape), top3(logits[0, -1], 1))
print("Sol, the probability clerk:        ", top3(probs, 3))
print("Ned, the announcer (next token):   ", repr(prompt), "->", repr(prompt + " " + tok.vocab.itos[next_id]))
print("same logits as model(idx):", torch.allclose(logits, model(idx)[0]))
# --8<-- [end:relay]
