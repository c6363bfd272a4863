"""Weight penalties for Dense and Conv2D kernels (Keras' kernel_regularizer)."""

__all__ = ["Regularizer", "L1L2", "L1", "L2", "l1", "l2", "l1_l2"]


class Regularizer:
    l1 = 0.0
    l2 = 0.0

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w^2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = float(l1)
        self.l2 = float(l2)

    def __repr__(self):
        return f"loom.regularizers.L1L2(l1={self.l1}, l2={self.l2})"


def L1(l1=0.01):
    return L1L2(l1=l1)


def L2(l2=0.01):
    return L1L2(l2=l2)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2
