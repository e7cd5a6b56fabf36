import numpy as np
import torch

from llm_guide.figures.gradient_descent import plot_descent_2d
from llm_guide.figures.style import save
from llm_guide.numpy_nn import DescentPath, valley, valley_grad
from llm_guide.train import adamw_step, sgd_step  # the functions listed above


def optimise(kind: str, lr: float, steps: int = 50, momentum: float = 0.0) -> DescentPath:
    p = torch.tensor([-8.0, 1.5], dtype=torch.float64)
    state_1, state_2 = torch.zeros_like(p), torch.zeros_like(p)
    points = [p.clone()]
    for t in range(1, steps + 1):
        g = torch.from_numpy(valley_grad(p.numpy()))
        if kind == "adamw":
            adamw_step(p, g, state_1, state_2, t, lr=lr, weight_decay=0.0)
        else:
            sgd_step(p, g, state_1, lr=lr, momentum=momentum)
        points.append(p.clone())
    points = torch.stack(points).numpy()
    return DescentPath(points, np.array([valley(q) for q in points]))


runs = {
    "SGD, lr 0.01": optimise("sgd", 0.01),
    "SGD + momentum 0.9, lr 0.01": optimise("sgd", 0.01, momentum=0.9),
    "AdamW, lr 0.5": optimise("adamw", 0.5),
}
for label, path in runs.items():
    print(f"{label:<28} loss after 50 steps: {path.losses[-1]:.4f}")
title = "three optimisers, 50 steps each"
fig = plot_descent_2d(valley, runs, xlim=(-9, 3), ylim=(-2.5, 2.5), title=title)
save(fig, "gradient-descent-optimizers.svg")
