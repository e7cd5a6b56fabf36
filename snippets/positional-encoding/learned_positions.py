# --8<-- [start:train]
import torch
import torch.nn.functional as F

from llm_guide import corpora
from llm_guide.embeddings import sinusoidal_positions  # the table above
from llm_guide.figures.positional_encoding import plot_position_tables
from llm_guide.figures.style import save
from llm_guide.model import GPT, GPTConfig
from llm_guide.tokenizers import WordTokenizer
from llm_guide.train import TrainConfig, train

story = corpora.cat_story()
tok = WordTokenizer.from_text(story)
data = torch.tensor(tok.encode(story))
print(f"{len(data)} words, {tok.vocab_size} distinct")

torch.manual_seed(0)
model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=32))
print(model.transformer.embed.wpe)
before = model.transformer.embed.wpe.weight.detach().clone()

threads = torch.get_num_threads()
torch.set_num_threads(1)  # a model this small runs faster on one thread than split across cores
config = TrainConfig(steps=150, batch_size=None, lr=1e-2, eval_interval=75, progress=False)
result = train(model, data, config=config)
torch.set_num_threads(threads)
after = model.transformer.embed.wpe.weight.detach().clone()
for point in result.evals:
    print(f"step {point.step:3d}  loss {point.train_loss:.3f}")
# --8<-- [end:train]


# --8<-- [start:similarity]
def similarity_at_distance(table: torch.Tensor, k: int) -> float:
    """Mean cosine similarity of rows p and p + k over every p."""
    unit = F.normalize(table.double(), dim=1)
    return (unit[:-k] * unit[k:]).sum(dim=1).mean().item()


tables = {
    "sinusoidal": sinusoidal_positions(16, 32),
    "learned, before training": before,
    "learned, after training": after,
}
print(f"{'distance k':<26}" + "".join(f"{k:>7}" for k in (1, 2, 4, 8)))
for name, table in tables.items():
    print(f"{name:<26}" + "".join(f"{similarity_at_distance(table, k):7.2f}" for k in (1, 2, 4, 8)))
# --8<-- [end:similarity]
# --8<-- [start:figure]
save(plot_position_tables(tables), "positional-encoding-tables.svg")
# --8<-- [end:figure]
