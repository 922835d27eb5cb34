"""The seed's question, answered with numbers: why dE/dy_i carries a sum over j.

The seed network (the same one ``chainrule explain`` and the explorer show): 2 inputs feed a
hidden layer i of 2 logistic units, which feeds a top layer j of 3 logistic units. chainrule's
backward pass gives dE/dy_i; next to it we add up sum_j w_ij dE/dz_j by hand.
"""

import numpy as np

from chainrule.explainer import seed_model

net, x, t = seed_model()  # an nn.Sequential: Linear, Logistic, Linear, Logistic (float64)
y = net[:2](x).detach().requires_grad_()  # hidden layer i's outputs y_i, as a leaf
out = net[2:](y)  # top layer j: z_j = b_j + sum_i y_i w_ij, y_j = logistic(z_j)
E = 0.5 * ((t - out) ** 2).sum()
E.backward()

# By hand: dE/dy_j = -(t_j - y_j), dE/dz_j = y_j (1 - y_j) dE/dy_j, dE/dy_i = sum_j w_ij dE/dz_j.
y_j = out.numpy()[0]
dE_dz = y_j * (1 - y_j) * -(t.numpy()[0] - y_j)
w = net[2].weight.numpy()
print(f"E = {E.item():.6f}")
for i in range(2):
    terms = [w[i, j] * dE_dz[j] for j in range(3)]
    written = " + ".join(f"({w[i, j]:+.2f})({dE_dz[j]:+.5f})" for j in range(3))
    print(
        f"dE/dy_{i + 1}: chainrule {y.grad.numpy()[0, i]:+.6f}   "
        f"by hand sum_j w_{i + 1}j dE/dz_j = {written} = {sum(terms):+.6f}"
    )
assert np.allclose(y.grad.numpy()[0], w @ dE_dz)
