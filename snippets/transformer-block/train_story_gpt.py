# --8<-- [start:train]
import torch
import torch.nn.functional as F

from llm_guide import corpora
from llm_guide.figures.style import save
from llm_guide.figures.transformer_block import plot_next_token_panels
from llm_guide.generate import generate, next_token_distribution
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import WordTokenizer
from llm_guide.train import TrainConfig, train

story = corpora.cat_story()
tok = WordTokenizer.from_text(story)
data = torch.tensor(tok.encode(story))

torch.manual_seed(0)
config = GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=32)
model = GPT(config)
threads = torch.get_num_threads()
torch.set_num_threads(1)  # a model this small runs faster on one thread than on many
training = TrainConfig(steps=200, batch_size=None, lr=1e-2, progress=False)
result = train(model, data, config=training)
torch.set_num_threads(threads)
losses = f"loss {result.evals[0].train_loss:.3f} -> {result.final_loss:.3f}"
print(f"{model.num_params():,} parameters, {len(data)} words; {losses}")
# --8<-- [end:train]
# --8<-- [start:predict]
model.eval()
idx = torch.tensor([tok.encode("The cat sat on the")])  # (B, T) = (1, 5)
logits, _ = model(idx)
print("logits", tuple(logits.shape), "-> last position", tuple(logits[0, -1].shape))
probs = torch.softmax(logits[0, -1], dim=-1)
print(f"probabilities sum to {probs.sum().item():.4f}")
# the top two; the runners-up are too close to rank on every CPU
for p, i in zip(*probs.topk(2)):
    word, logit = tok.vocab.itos[i], logits[0, -1, i].item()
    print(f"  {word!r:<8} logit {logit:6.2f}  probability {p.item():.3f}")
next_id = int(probs.argmax())
print("next token:", tok.decode(idx[0].tolist() + [next_id]))

body = model.transformer
final = body.ln_f(body.h[0](body.embed.wte(idx) + body.embed.wpe(torch.arange(5))))
tied = torch.allclose(logits, final @ body.embed.wte.weight.T, atol=1e-5)
print("the head is the token table read backwards:", tied)
# --8<-- [end:predict]
# --8<-- [start:sample]
prompt = torch.tensor([tok.encode("the")])
last = model(prompt)[0][0, -1].detach()  # (V,) logits for the word after "the"
settings = {
    "softmax (temperature 1)": dict(),
    "temperature 0.5": dict(temperature=0.5),
    "temperature 2": dict(temperature=2.0),
    "top-k, k = 2": dict(top_k=2),
    "top-p, p = 0.8": dict(top_p=0.8),
}
panels = {"greedy": F.one_hot(last.argmax(), tok.vocab_size).float()}
texts = {"greedy": tok.decode(generate(model, prompt, 10, greedy=True)[0].tolist())}
for name, kwargs in settings.items():
    panels[name] = next_token_distribution(last, **kwargs)
    seeded = torch.Generator().manual_seed(0)
    sampled = generate(model, prompt, 10, generator=seeded, **kwargs)
    texts[name] = tok.decode(sampled[0].tolist())


def most_likely_first(p: torch.Tensor) -> list[int]:
    """Word ids by probability; words equal at two decimals alphabetically
    (their finer order is rounding noise)."""
    return sorted(range(len(p)), key=lambda i: (-round(p[i].item(), 2), tok.vocab.itos[i]))


for name, p in panels.items():
    likely = [i for i in most_likely_first(p) if p[i] >= 0.005]
    kept = {tok.vocab.itos[i]: round(p[i].item(), 2) for i in likely}
    print(f"{name:<24} {kept}")
    print(f"{'':<24} {texts[name]!r}")

order = torch.tensor(most_likely_first(panels["softmax (temperature 1)"]))
labels = [tok.vocab.itos[i] for i in order]
figure = plot_next_token_panels({n: p[order] for n, p in panels.items()}, labels, texts)
save(figure, "transformer-block-sampling.svg")
# --8<-- [end:sample]
