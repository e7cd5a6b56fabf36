# --8<-- [start:model]
import torch
import torch.nn.functional as F

from llm_guide import corpora
from llm_guide.figures.embeddings import plot_embedding_pca
from llm_guide.figures.style import save
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import WordTokenizer
from llm_guide.train import TrainConfig, train

story = corpora.cat_story()  # the story and its ids, as above, so that this file runs on its own
tok = WordTokenizer.from_text(story)
V = tok.vocab_size
data = torch.tensor(tok.encode(story))

torch.manual_seed(1)
model = GPT(GPTConfig(vocab_size=V, block_size=8, n_layer=1, n_head=2, n_embd=16))
print(model.transformer.embed.wte)
print(model.lm_head.weight is model.transformer.embed.wte.weight)
# --8<-- [end:model]


# --8<-- [start:cosine]
def cosine(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The cosine of the angle between u and v: dot product over the product of the lengths."""
    return (u * v).sum(-1) / ((u * u).sum(-1).sqrt() * (v * v).sum(-1).sqrt())


u = torch.tensor([1.0, 2.0])
for name, v in [("same way", 3 * u), ("perpendicular", torch.tensor([-2.0, 1.0])), ("opposite", -u)]:
    print(f"{name:<14} {cosine(u, v).item():+.4f} {F.cosine_similarity(u, v, dim=0).item():+.4f}")

table = model.transformer.embed.wte.weight.detach()
cat, dog = table[tok.vocab.stoi["cat"]], table[tok.vocab.stoi["dog"]]
print(f"{'cat, dog':<14} {cosine(cat, dog).item():+.4f} {F.cosine_similarity(cat, dog, dim=0).item():+.4f}")
# --8<-- [end:cosine]


# --8<-- [start:nearest]
def nearest(table: torch.Tensor, word: str, k: int = 3) -> list[tuple[str, float]]:
    """The k tokens whose embeddings have the highest cosine with ``word``'s (itself excluded)."""
    unit = table / table.norm(dim=1, keepdim=True)  # every row now has length 1
    sims = unit @ unit[tok.vocab.stoi[word]]  # (V,): the cosine with every token
    sims[tok.vocab.stoi[word]] = -2.0  # below any cosine, so the word never picks itself
    top = sims.topk(k)
    return [(tok.vocab.itos[i], round(s, 2)) for i, s in zip(top.indices.tolist(), top.values.tolist())]


print(nearest(table, "cat"))
# --8<-- [end:nearest]
# --8<-- [start:train]
threads = torch.get_num_threads()
torch.set_num_threads(1)  # a model this small runs faster on one thread than split across cores
before = model.transformer.embed.wte.weight.detach().clone()
config = TrainConfig(steps=200, batch_size=None, lr=1e-2, eval_interval=100, progress=False)
result = train(model, data, config=config)
torch.set_num_threads(threads)
after = model.transformer.embed.wte.weight.detach().clone()

for point in result.evals:
    print(f"step {point.step:3d}  loss {point.train_loss:.3f}")
print(f"every row moved: {bool((after != before).any(dim=1).all())}")
print(f"average row length: before {before.norm(dim=1).mean():.3f}, after {after.norm(dim=1).mean():.3f}")
# --8<-- [end:train]
# --8<-- [start:compare]
for a, b in [("cat", "dog"), ("mat", "park"), ("ran", "met"), ("The", "They")]:
    i, j = tok.vocab.stoi[a], tok.vocab.stoi[b]
    print(f"cos({a}, {b}): before {cosine(before[i], before[j]):+.2f}, after {cosine(after[i], after[j]):+.2f}")
for word in ("cat", "mat", "ran"):
    print(f"nearest to {word}: before {nearest(before, word)}")
    print(f"{'':<{len(word) + 11}} after  {nearest(after, word)}")
# --8<-- [end:compare]


# --8<-- [start:pca]
def pca_2d(table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Coordinates of each row along the two directions of largest spread, and each direction's share of it."""
    centred = table - table.mean(dim=0)  # PCA measures spread around the mean
    U, S, Vh = torch.linalg.svd(centred, full_matrices=False)
    directions = Vh[:2]  # (2, C): unit vectors, the directions of largest spread
    coords = centred @ directions.T  # (V, 2)
    # -v is as good a direction as v, and which one the SVD returns can change with rounding
    # (another CPU): put each axis's farthest point on its positive side, as scikit-learn does
    farthest = coords.abs().argmax(dim=0)  # (2,): for each axis, the row farthest out along it
    coords = coords * coords[farthest, torch.arange(2)].sign()
    share = S**2 / (S**2).sum()
    return coords, share[:2]


xy_before, share_before = pca_2d(before)
xy_after, share_after = pca_2d(after)
print(f"variance the two axes keep: before {share_before.sum():.0%}, after {share_after.sum():.0%}")

groups = {
    "animals": ["cat", "dog"],
    "places": ["mat", "park"],
    "actions": ["sat", "ran", "met", "liked", "played"],
    "sentence starts": ["The", "They"],
}
shares = (share_before, share_after)
save(plot_embedding_pca(xy_before, xy_after, tok.vocab.itos, shares, groups), "embeddings-pca.svg")
# --8<-- [end:pca]
