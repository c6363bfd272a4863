#!/usr/bin/env python3
"""LeNet with batch normalisation (BN-LeNet) on Fashion-MNIST: conv 6@5x5 (same) -> BN -> relu
-> max pool, conv 16@5x5 (valid) -> BN -> relu -> max pool, flatten, dense 120 -> BN -> relu,
dense 84 -> BN -> relu, dense 10 (logits). Adam; the test accuracy after each epoch."""
import sys

from _common import arguments, fashion_mnist, setup


def bn_lenet(loom):
    L = loom.layers
    return loom.Sequential([
        loom.Input((28, 28, 1)),
        L.Conv2D(6, 5, padding="same"), L.BatchNormalization(), L.Activation("relu"), L.MaxPool2D(2, strides=2),
        L.Conv2D(16, 5, padding="valid"), L.BatchNormalization(), L.Activation("relu"), L.MaxPool2D(2, strides=2),
        L.Flatten(),
        L.Dense(120), L.BatchNormalization(), L.Activation("relu"),
        L.Dense(84), L.BatchNormalization(), L.Activation("relu"),
        L.Dense(10),
    ], name="bn_lenet")


def main():
    args = arguments(__doc__.splitlines()[0], epochs=5).parse_args()
    loom = setup(args)
    (x_train, y_train), (x_test, y_test) = fashion_mnist(args)
    model = bn_lenet(loom)
    model.compile(optimizer=loom.optimizers.Adam(learning_rate=0.002),
                  loss=loom.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.summary()

    def report(epoch, logs):
        test = model.evaluate(x_test, y_test, batch_size=1000, return_dict=True)
        print(f"epoch {epoch + 1}: train_loss {logs['loss']:.4f} train_acc {logs['accuracy']:.4f} "
              f"test_acc {test['accuracy']:.4f}", flush=True)

    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, verbose=0,
              callbacks=[report])
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=1000)
    print(f"test accuracy: {accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
