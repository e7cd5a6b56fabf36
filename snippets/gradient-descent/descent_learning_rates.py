# --8<-- [start:bowl]
from llm_guide.figures.gradient_descent import plot_descent_1d, plot_descent_2d
from llm_guide.figures.style import save

# the functions listed above
from llm_guide.numpy_nn import bowl, bowl_grad, descend_1d, descend_2d, valley, valley_grad

paths = {}
for lr in (0.02, 0.3, 1.05):
    paths[f"lr = {lr}"] = descend_1d(bowl, bowl_grad, x0=0.0, lr=lr, steps=12)
for label, path in paths.items():
    print(f"{label:<10} w ends at {path.points[-1]:8.4f}, loss {path.losses[-1]:.6f}")
save(plot_descent_1d(bowl, paths, lo=-1.0, hi=7.0), "gradient-descent-learning-rates.svg")
# --8<-- [end:bowl]
# --8<-- [start:valley]
valley_paths = {}
for lr in (0.01, 0.09, 0.105):
    valley_paths[f"lr = {lr}"] = descend_2d(valley, valley_grad, xy0=[-8.0, 1.5], lr=lr, steps=40)
for label, path in valley_paths.items():
    end_x, end_y = path.points[-1]
    print(f"{label:<11} ends at ({end_x:9.4f}, {end_y:9.4f}), loss {path.losses[-1]:.4g}")
title = "one learning rate for every direction"
fig = plot_descent_2d(valley, valley_paths, xlim=(-9, 3), ylim=(-2.5, 2.5), title=title)
save(fig, "gradient-descent-valley.svg")
# --8<-- [end:valley]
