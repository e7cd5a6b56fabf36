import torch

from llm_guide.attention import attention_maps
from llm_guide.icl import attention_only_gpt, copy_accuracy, repeated_sequences, train_on_batches


def fixed_batches(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of 32 sequences whose segments are all 8 long."""
    x, y, _ = repeated_sequences(32, min_len=8, max_len=8, generator=generator)
    return x, y


threads = torch.get_num_threads()
torch.set_num_threads(1)  # tiny models: one thread beats two that wait for each other
torch.manual_seed(0)
fixed_model = attention_only_gpt(n_layer=1)
train_on_batches(fixed_model, fixed_batches, steps=200)
torch.set_num_threads(threads)

fixed_test = repeated_sequences(500, min_len=8, max_len=8, generator=torch.Generator().manual_seed(1))
acc = copy_accuracy(fixed_model, fixed_test)
print(f"one layer, every segment 8 long: first copy {acc['first copy']:.1%}, second copy {acc['second copy']:.1%}")
weights = attention_maps(fixed_model, fixed_test.x)[0]  # (B, heads, T, T)
# queries t >= 8, in the repeats
back_7 = weights.diagonal(offset=-7, dim1=-2, dim2=-1)[..., 1:].mean(dim=(0, 2))
print("mean attention on the token 7 places back, per head:", [round(w, 2) for w in back_7.tolist()])
