#!/usr/bin/env python3
"""A multilayer perceptron on Fashion-MNIST, as Keras writes it: Flatten, Dense 256 relu,
Dropout 0.2, Dense 10 softmax; Adam, sparse categorical cross-entropy, accuracy; fit with 10% of
the training images held out for validation, then evaluate on the test images."""
import sys

from _common import arguments, fashion_mnist, setup


def main():
    args = arguments(__doc__.splitlines()[0], epochs=5).parse_args()
    loom = setup(args)
    (x_train, y_train), (x_test, y_test) = fashion_mnist(args, channels_last=False)
    model = loom.Sequential([
        loom.Input((28, 28)),
        loom.layers.Flatten(),
        loom.layers.Dense(256, activation="relu"),
        loom.layers.Dropout(0.2),
        loom.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, validation_split=0.1,
                        seed=args.seed, verbose=0 if args.quick else 1)
    for epoch in range(len(history.epoch)):
        print(f"epoch {epoch + 1}: loss {history.history['loss'][epoch]:.4f} "
              f"accuracy {history.history['accuracy'][epoch]:.4f} "
              f"val_loss {history.history['val_loss'][epoch]:.4f} "
              f"val_accuracy {history.history['val_accuracy'][epoch]:.4f}")
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=1000)
    print(f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
