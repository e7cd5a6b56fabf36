# --8<-- [start:batch]
import torch

from llm_guide import corpora
from llm_guide.data import get_batch, train_val_split  # the functions listed above
from llm_guide.vocab import Vocabulary

story = corpora.cat_story()
story_vocab = Vocabulary.from_text(story)
data = torch.tensor(story_vocab.encode(story))
train, val = train_val_split(data, val_fraction=0.1)
print(len(data), "ids:", len(train), "to train on,", len(val), "to validate with")

g = torch.Generator().manual_seed(0)
xb, yb = get_batch(train, block_size=8, batch_size=4, generator=g)
print("xb", tuple(xb.shape), xb.dtype, " yb", tuple(yb.shape))
print(xb)
for x_row, y_row in zip(xb.tolist(), yb.tolist()):
    x_text, y_text = "".join(story_vocab.decode(x_row)), "".join(story_vocab.decode(y_row))
    print(repr(x_text), "->", repr(y_text))
# --8<-- [end:batch]
# --8<-- [start:again]
again = get_batch(train, block_size=8, batch_size=4, generator=torch.Generator().manual_seed(0))
print(torch.equal(again[0], xb), torch.equal(get_batch(train, 8, 4, generator=g)[0], xb))
# --8<-- [end:again]
# --8<-- [start:errors]
short = data[:8]
for bad in (
    lambda: get_batch(short, block_size=8, batch_size=4),
    lambda: get_batch(train, block_size=0, batch_size=4),
    lambda: get_batch(train, block_size=8, batch_size=0),
):
    try:
        bad()
    except ValueError as error:
        print(error)
# --8<-- [end:errors]
