#!/usr/bin/env python3
"""A small GoogLeNet (Inception blocks: four parallel paths concatenated) built with the
functional API, the architecture of examples/c/graph_models.c: conv 16@5x5 -> max pool 3/2 ->
Inception(8, 8-12, 4-6, 6) -> Inception(12, 12-16, 4-8, 8) -> max pool 3/2 -> global average pool
-> dense 10. Adam with a cosine-decayed learning rate (0.002 to 1%), an epoch callback that
evaluates on the test images and saves a checkpoint, then the whole model is saved, loaded back
and checked to predict the same."""
import os
import sys
import tempfile

from _common import arguments, fashion_mnist, setup


def conv(loom, filters, kernel, stride=1, activation="relu"):
    return loom.layers.Conv2D(filters, kernel, strides=stride, padding="same", activation=activation)


def pool(loom, size, stride):
    return loom.layers.MaxPool2D(size, strides=stride, padding="same")


def inception(loom, x, c1, c2, c3, c4):
    """1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max pool -> 1x1, concatenated along the channels."""
    p1 = conv(loom, c1, 1)(x)
    p2 = conv(loom, c2[1], 3)(conv(loom, c2[0], 1)(x))
    p3 = conv(loom, c3[1], 5)(conv(loom, c3[0], 1)(x))
    p4 = conv(loom, c4, 1)(pool(loom, 3, 1)(x))
    return loom.layers.Concatenate()([p1, p2, p3, p4])


def googlenet(loom):
    image = loom.Input((28, 28, 1), name="image")
    x = pool(loom, 3, 2)(conv(loom, 16, 5)(image))
    x = inception(loom, x, 8, (8, 12), (4, 6), 6)
    x = inception(loom, x, 12, (12, 16), (4, 8), 8)
    x = pool(loom, 3, 2)(x)
    x = loom.layers.GlobalAvgPool2D()(x)
    logits = loom.layers.Dense(10)(x)
    return loom.Model(inputs=image, outputs=logits, name="googlenet")


def main():
    parser = arguments(__doc__.splitlines()[0], epochs=3)
    parser.add_argument("--save", default=None, help="where to save the model (default: a temporary folder)")
    args = parser.parse_args()
    loom = setup(args)
    (x_train, y_train), (x_test, y_test) = fashion_mnist(args, train_limit=256, test_limit=128)
    model = googlenet(loom)
    steps = -(-len(x_train) // args.batch_size) * args.epochs
    model.compile(optimizer=loom.optimizers.Adam(loom.optimizers.schedules.CosineDecay(0.002, steps, alpha=0.01)),
                  loss=loom.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.summary()
    scratch = tempfile.TemporaryDirectory(prefix="googlenet-")
    save = args.save or os.path.join(scratch.name, "googlenet.loom")
    checkpoint = save + ".ckpt"

    class Progress(loom.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            test = self.model.evaluate(x_test, y_test, batch_size=1000, return_dict=True)
            self.model.save_checkpoint(checkpoint, epoch)
            print(f"epoch {epoch + 1}: train_loss {logs['loss']:.4f} train_acc {logs['accuracy']:.4f} "
                  f"test_acc {test['accuracy']:.4f} (checkpoint {checkpoint})", flush=True)

    print(f"googlenet from Python: {args.epochs} epochs, batch {args.batch_size}", flush=True)
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, verbose=0,
              callbacks=[Progress()])
    model.save(save)
    loaded = loom.load_model(save)
    same = abs(loaded.predict(x_test[:64]) - model.predict(x_test[:64])).max()
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000)
    print(f"test accuracy: {accuracy:.4f}\nmodel saved to {save} (reloaded: largest prediction difference {same:g})")
    scratch.cleanup()
    return 0 if same == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
