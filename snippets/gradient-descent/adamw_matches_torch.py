import torch
from torch import nn

from llm_guide.train import adamw_step  # the function listed above

torch.manual_seed(0)
start = torch.randn(3, 4)
ours, m, v = start.clone(), torch.zeros(3, 4), torch.zeros(3, 4)
reference = nn.Parameter(start.clone())
settings = {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1}
optimizer = torch.optim.AdamW([reference], **settings)
for t in range(1, 6):
    grad = torch.randn(3, 4)
    adamw_step(ours, grad, m, v, t, **settings)
    reference.grad = grad.clone()
    optimizer.step()
    same = torch.equal(ours, reference.detach())
    change = (ours - start).abs().mean().item()
    print(f"step {t}: identical to torch.optim.AdamW: {same}, mean |change| so far {change:.4f}")
