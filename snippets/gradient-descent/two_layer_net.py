# --8<-- [start:forward_backward]
import numpy as np

from llm_guide.numpy_nn import TwoLayerNet  # the class listed above

net = TwoLayerNet(W1=[[0.5, 0.3], [-0.2, 0.8]], b1=[0.1, -0.1], W2=[[0.7, 0.4]], b2=[0.05])
X, T = np.array([[0.8, 0.2]]), np.array([[1.0]])
print("parameters:", sum(p.size for p in net.params.values()))
pred, cache = net.forward(X)
print("hidden before ReLU:", cache["z1"].round(4), " after:", cache["h"].round(4))
print(f"prediction {pred[0, 0]:.4f}")
loss, grads = net.loss_and_grads(X, T)
print(f"loss {loss:.6f}")
for name, g in grads.items():
    print(f"dL/d{name:<3}", g.round(5).tolist())
# --8<-- [end:forward_backward]
# --8<-- [start:train]
for step in range(10):
    loss, grads = net.loss_and_grads(X, T)
    net.step(grads, lr=0.1)
    if step % 3 == 0:
        print(f"step {step}: loss {loss:.6f}")
print(f"prediction now {net.forward(X)[0][0, 0]:.4f}")
# --8<-- [end:train]
