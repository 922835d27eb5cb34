"""The seed's question, answered with numbers: why dE/dy_i carries a sum over j.

A hidden layer i of 2 logistic units feeds a top layer j of 3 logistic units. chainrule's
backward pass gives dE/dy_i; next to it we add up sum_j w_ij dE/dz_j by hand.
"""

import numpy as np

import chainrule as cr

y = cr.tensor([[0.2, 0.7]], requires_grad=True)  # hidden layer i
W = cr.tensor([[0.1, -0.4, 0.3], [0.5, 0.2, -0.6]], requires_grad=True)
b = cr.zeros(3, requires_grad=True)
t = cr.tensor([[1.0, 0.0, 1.0]])

z = y @ W + b  # top layer j: z_j = b_j + sum_i y_i w_ij
out = cr.sigmoid(z)
E = 0.5 * ((t - out) ** 2).sum()
E.backward()

# By hand: dE/dy_j = -(t_j - y_j), dE/dz_j = y_j (1 - y_j) dE/dy_j, dE/dy_i = sum_j w_ij dE/dz_j.
y_j = out.numpy()[0]
dE_dz = y_j * (1 - y_j) * -(t.numpy()[0] - y_j)
w = W.numpy()
print(f"E = {E.item():.6f}")
for i in range(2):
    terms = [w[i, j] * dE_dz[j] for j in range(3)]
    written = " + ".join(f"({w[i, j]:+.2f})({dE_dz[j]:+.5f})" for j in range(3))
    print(
        f"dE/dy_{i + 1}: chainrule {y.grad.numpy()[0, i]:+.6f}   "
        f"by hand sum_j w_{i + 1}j dE/dz_j = {written} = {sum(terms):+.6f}"
    )
assert np.allclose(y.grad.numpy()[0], w @ dE_dz)
