#!/usr/bin/env python3
"""Linear regression from scratch, as the seed's chapter (and examples/linear_regression.cpp):
1000 synthetic examples y = X w + b + noise (w = [2, -3.4], b = 4.2, noise 0.01), shuffled
minibatches of 10, the squared loss, hand-written SGD (lr 0.03) through Variable.assign_sub,
3 epochs. Prints each epoch's loss (about 0.037, 0.00014, 0.00005) and the learned w and b;
--check exits non-zero unless it converged."""
import random
import sys

from _common import arguments, setup


def data_iter(batch_size, features, labels, rng):
    """The examples in a shuffled order, batch_size at a time (gathered by index)."""
    import loom
    n = features.shape[0]
    order = list(range(n))
    rng.shuffle(order)
    for i in range(0, n, batch_size):
        index = loom.tensor(order[i:i + batch_size])
        yield loom.gather(features, index), loom.gather(labels, index)


def linreg(X, w, b):
    return X @ w + b


def squared_loss(y_hat, y, loom):
    return loom.square(y_hat - loom.reshape(y, y_hat.shape)) / 2.0


def sgd(params, grads, lr, batch_size):
    for param, grad in zip(params, grads):
        param.assign_sub(grad * (lr / batch_size))


def main():
    parser = arguments(__doc__.splitlines()[0], epochs=3)  # --data is accepted and unused
    parser.add_argument("--check", action="store_true", help="exit 1 unless the fit converged")
    args = parser.parse_args()
    quick = args.quick
    args.quick = False  # the whole run takes a second: --quick changes nothing
    loom = setup(args)
    true_w = loom.tensor([[2.0], [-3.4]])
    true_b = 4.2
    num_examples = 1000
    features = loom.random_normal((num_examples, 2), 0.0, 1.0, seed=1)
    labels = features @ true_w + true_b + loom.random_normal((num_examples, 1), 0.0, 0.01, seed=2)

    w = loom.Variable(loom.random_normal((2, 1), 0.0, 0.01, seed=3), name="w")
    b = loom.Variable(loom.zeros((1,)), name="b")
    lr, batch_size = 0.03, 10
    rng = random.Random(4)
    loss = None
    for epoch in range(args.epochs):
        for X, y in data_iter(batch_size, features, labels, rng):
            with loom.GradientTape() as tape:
                l = squared_loss(linreg(X, w, b), y, loom)
            sgd([w, b], tape.gradient(l, [w, b]), lr, batch_size)
        loss = loom.reduce_mean(squared_loss(linreg(features, w, b), labels, loom)).item()
        print(f"epoch {epoch + 1}, loss {loss:f}")
    w_values = [row[0] for row in w.tolist()]
    print(f"w = [{w_values[0]:.4f}, {w_values[1]:.4f}] (true [2, -3.4]), b = {b.tolist()[0]:.4f} (true 4.2)")
    converged = (loss < 1e-4 and abs(w_values[0] - 2.0) < 0.01 and abs(w_values[1] + 3.4) < 0.01
                 and abs(b.tolist()[0] - true_b) < 0.01)
    if (args.check or quick) and not converged:
        print("did not converge")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
