"""A small tf.data: ``Dataset.from_tensor_slices(...)`` with ``shuffle``, ``batch``, ``map``,
``take``, ``repeat`` and iteration. Elements are tensors, or tuples/dicts of tensors.

    ds = loom.data.Dataset.from_tensor_slices((x, y)).shuffle(1000, seed=1).batch(32)
    for xb, yb in ds: ...
    model.fit(ds, epochs=2)
"""
import random

from . import _api, _core
from ._core import Tensor, np

__all__ = ["Dataset"]


def _map_structure(fn, s):
    if isinstance(s, dict):
        return {k: _map_structure(fn, v) for k, v in s.items()}
    if isinstance(s, tuple):
        return tuple(_map_structure(fn, v) for v in s)
    return fn(s)


def _leaves(s):
    if isinstance(s, dict):
        return [leaf for v in s.values() for leaf in _leaves(v)]
    if isinstance(s, tuple):
        return [leaf for v in s for leaf in _leaves(v)]
    return [s]


def _stack(elements):
    first = elements[0]
    if isinstance(first, dict):
        return {k: _stack([e[k] for e in elements]) for k in first}
    if isinstance(first, tuple):
        return tuple(_stack([e[i] for e in elements]) for i in range(len(first)))
    return _api.stack([e if isinstance(e, Tensor) else _core.tensor(e, None, "loom.data.Dataset.batch", "element")
                       for e in elements], 0)


class Dataset:
    """An iterable pipeline of elements (see the module)."""

    # -- sources -----------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors):
        """Elements are the slices of `tensors` along their first axis: a tensor, array or list, or
        a tuple/dict of them (all with the same first dimension)."""
        where = "loom.data.Dataset.from_tensor_slices"

        def convert(v):
            return v if isinstance(v, Tensor) else _core.tensor(v, None, where, "tensors")

        if isinstance(tensors, list) and tensors and all(
                isinstance(v, Tensor) or (np is not None and isinstance(v, np.ndarray)) for v in tensors):
            tensors = tuple(tensors)
        structure = _map_structure(convert, tensors)
        sizes = set()
        for leaf in _leaves(structure):
            shape = leaf.shape
            if not shape:
                raise ValueError(f"{where}: a rank-0 tensor has no slices")
            sizes.add(shape[0])
        if len(sizes) != 1:
            raise ValueError(f"{where}: every tensor needs the same first dimension, got {sorted(sizes)}")
        return _Slices(structure, sizes.pop())

    @staticmethod
    def range(*args):
        """Elements start, start + step, ... (int64 scalars), as Python's range."""
        values = list(range(*args))
        return _Slices(_core.tensor(values, "int64", "loom.data.Dataset.range", "range"), len(values))

    # -- transformations ---------------------------------------------------------------------
    def shuffle(self, buffer_size=None, seed=None, reshuffle_each_iteration=True):
        """Shuffles the elements (a full permutation for sliced tensors; a buffer of
        `buffer_size` elements otherwise); the same `seed` gives the same orders."""
        if buffer_size is not None and (not _core._is_int(buffer_size) or buffer_size < 1):
            raise TypeError(f"loom.data.Dataset.shuffle: buffer_size must be a positive int, got {buffer_size!r}")
        if seed is not None and not _core._is_int(seed):
            raise TypeError(f"loom.data.Dataset.shuffle: seed must be an int, got {seed!r}")
        return _Shuffle(self, buffer_size, seed, reshuffle_each_iteration)

    def batch(self, batch_size, drop_remainder=False):
        """Consecutive elements stacked into batches of `batch_size` (the last may be smaller)."""
        if not _core._is_int(batch_size) or batch_size < 1:
            raise TypeError(f"loom.data.Dataset.batch: batch_size must be a positive int, got {batch_size!r}")
        return _Batch(self, int(batch_size), bool(drop_remainder))

    def map(self, fn):
        """fn applied to each element (a tuple element is passed as separate arguments)."""
        if not callable(fn):
            raise TypeError(f"loom.data.Dataset.map: fn must be callable, got {type(fn).__name__}")
        return _Map(self, fn)

    def take(self, count):
        """The first `count` elements."""
        if not _core._is_int(count):
            raise TypeError(f"loom.data.Dataset.take: count must be an int, got {type(count).__name__}")
        return _Take(self, int(count))

    def repeat(self, count=None):
        """The elements `count` times (forever when None)."""
        return _Repeat(self, count)

    def prefetch(self, buffer_size=None):
        return self

    def cache(self, filename=""):
        return self

    def as_numpy_iterator(self):
        for element in self:
            yield _map_structure(lambda t: t.numpy(), element)

    def __iter__(self):
        return self._elements()

    def __len__(self):
        n = self._length()
        if n is None:
            raise TypeError("the length of this dataset is unknown")
        return n

    def cardinality(self):
        n = self._length()
        return -1 if n is None else n

    def _length(self):
        return None

    def _batch_size(self):
        return None

    def _materialize(self, where, need_y=True):
        """(x, y, batch size) of a dataset of (x, y) batches or elements, for fit/evaluate/predict."""
        batches = list(self)
        if not batches:
            raise ValueError(f"{where}: the dataset is empty")
        first = batches[0]
        batched = self._batch_size() is not None
        if not batched:
            batches = [_stack(batches)]
            first = batches[0]
        if isinstance(first, tuple) and len(first) >= 2:
            xs = [b[0] for b in batches]
            ys = [b[1] for b in batches]
        elif isinstance(first, tuple) and len(first) == 1:
            xs, ys = [b[0] for b in batches], None
        else:
            xs, ys = batches, None
        if need_y and ys is None:
            raise ValueError(f"{where}: the dataset's elements must be (x, y) pairs")

        def join(parts):
            if isinstance(parts[0], dict):
                return {k: join([p[k] for p in parts]) for k in parts[0]}
            if isinstance(parts[0], tuple):
                return [join([p[i] for p in parts]) for i in range(len(parts[0]))]
            return parts[0] if len(parts) == 1 else _api.concat(parts, 0)

        return join(xs), (join(ys) if ys is not None else None), self._batch_size()


class _Slices(Dataset):
    def __init__(self, structure, n):
        self._structure = structure
        self._n = n

    def _length(self):
        return self._n

    def _order(self):
        return None

    def _elements(self):
        for i in range(self._n):
            yield _map_structure(lambda t, i=i: t[i], self._structure)

    def _gather(self, indices):
        index = _core.tensor(indices, "int64", "loom.data.Dataset", "indices")
        return _map_structure(lambda t: _core.call_op(b"gather", [t, index], None, 1, "loom.data.Dataset.batch")[0],
                              self._structure)


class _Shuffle(Dataset):
    def __init__(self, parent, buffer_size, seed, reshuffle):
        self._parent = parent
        self._buffer = buffer_size
        self._seed = seed
        self._reshuffle = reshuffle
        self._epoch = 0

    def _length(self):
        return self._parent._length()

    def _rng(self):
        seed = self._seed if self._seed is not None else random.getrandbits(64)
        rng = random.Random(seed + (self._epoch if self._reshuffle else 0))
        self._epoch += 1
        return rng

    def _order_for(self):
        """A permutation when the parent is sliced tensors."""
        if isinstance(self._parent, _Slices):
            order = list(range(self._parent._n))
            self._rng().shuffle(order)
            return order
        return None

    def _elements(self):
        if isinstance(self._parent, _Slices):
            structure = self._parent._structure
            for i in self._order_for():
                yield _map_structure(lambda t, i=i: t[i], structure)
            return
        rng = self._rng()
        size = self._buffer or 1000
        buffer = []
        for element in self._parent:
            buffer.append(element)
            if len(buffer) >= size:
                yield buffer.pop(rng.randrange(len(buffer)))
        while buffer:
            yield buffer.pop(rng.randrange(len(buffer)))


class _Batch(Dataset):
    def __init__(self, parent, size, drop_remainder):
        self._parent = parent
        self._size = size
        self._drop = drop_remainder

    def _batch_size(self):
        return self._size

    def _length(self):
        n = self._parent._length()
        if n is None:
            return None
        return n // self._size if self._drop else -(-n // self._size)

    def _elements(self):
        parent = self._parent
        if isinstance(parent, (_Slices, _Shuffle)) and isinstance(getattr(parent, "_parent", parent), _Slices):
            source = parent if isinstance(parent, _Slices) else parent._parent
            order = list(range(source._n)) if isinstance(parent, _Slices) else parent._order_for()
            for start in range(0, len(order), self._size):
                chunk = order[start:start + self._size]
                if len(chunk) < self._size and self._drop:
                    return
                yield source._gather(chunk)
            return
        batch = []
        for element in parent:
            batch.append(element)
            if len(batch) == self._size:
                yield _stack(batch)
                batch = []
        if batch and not self._drop:
            yield _stack(batch)


class _Map(Dataset):
    def __init__(self, parent, fn):
        self._parent = parent
        self._fn = fn

    def _length(self):
        return self._parent._length()

    def _batch_size(self):
        return self._parent._batch_size()

    def _elements(self):
        for element in self._parent:
            out = self._fn(*element) if isinstance(element, tuple) else self._fn(element)
            if isinstance(out, list):
                out = tuple(out)
            yield out


class _Take(Dataset):
    def __init__(self, parent, count):
        self._parent = parent
        self._count = count

    def _length(self):
        n = self._parent._length()
        if self._count < 0:
            return n
        return self._count if n is None else min(n, self._count)

    def _batch_size(self):
        return self._parent._batch_size()

    def _elements(self):
        if self._count < 0:
            yield from self._parent
            return
        for i, element in enumerate(self._parent):
            if i >= self._count:
                return
            yield element


class _Repeat(Dataset):
    def __init__(self, parent, count):
        self._parent = parent
        self._count = count

    def _length(self):
        n = self._parent._length()
        return None if self._count is None or n is None else n * self._count

    def _batch_size(self):
        return self._parent._batch_size()

    def _elements(self):
        i = 0
        while self._count is None or i < self._count:
            yield from self._parent
            i += 1
