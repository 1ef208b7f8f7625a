"""A history of generated images for D to learn from (Shrivastava et al. 2017, section 2.3),
as CycleGAN uses it (Zhu et al. 2017, section 4: a buffer of the 50 latest fakes).

D then sees fakes of earlier generators too, which damps the oscillation of a D that only
knows G's latest output. The pool is a module whose images are buffers: it is saved in the
checkpoint with the weights, so a resumed run queries the same history as the uninterrupted
one (the draws come from torch's global random stream, which checkpoints keep). Under DDP the
buffers are broadcast from rank 0 before every training step, like BatchNorm's statistics:
every process then queries rank 0's history.

>>> pool = ImagePool(capacity=2, shape=(1,))
>>> torch.manual_seed(0) and None
>>> pool(torch.tensor([[1.0], [2.0]])).flatten().tolist()  # filling: the fakes themselves
[1.0, 2.0]
>>> int(pool.count), pool.images.flatten().tolist()
(2, [1.0, 2.0])
>>> out = pool(torch.tensor([[3.0], [4.0]]))  # full: each fake swapped for a stored one at p=1/2
>>> sorted(out.flatten().tolist() + pool.images.flatten().tolist())  # nothing lost or made up
[1.0, 2.0, 3.0, 4.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["ImagePool"]


class ImagePool(nn.Module):
    """The ``capacity`` most recent fakes of ``shape`` (0: no pool, fakes pass through).

    A query returns a batch of the same size: while the pool fills, each fake is stored and
    returned; once it is full, each fake is, with probability 1/2, stored in the place of a
    random stored image, which is returned instead, else returned itself (the official
    code's ``ImagePool.query``, image by image)."""

    def __init__(self, capacity: int, shape: Sequence[int]) -> None:
        super().__init__()
        assert capacity >= 0, f"an image pool holds capacity >= 0 images, got {capacity}"
        self.capacity = int(capacity)
        self.register_buffer("images", torch.zeros(self.capacity, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))  # stored so far
        self.images: Tensor
        self.count: Tensor

    @torch.no_grad()
    def forward(self, fakes: Tensor) -> Tensor:
        """What D judges as this batch's fakes (detached)."""
        fakes = fakes.detach()
        if self.capacity == 0:
            return fakes
        assert fakes.shape[1:] == self.images.shape[1:], (
            f"the pool holds images of shape {list(self.images.shape[1:])}, got "
            f"{list(fakes.shape[1:])}"
        )
        # the same draws whatever the pool holds: the random stream does not depend on it
        swaps = (torch.rand(len(fakes)) < 0.5).tolist()
        slots = torch.randint(self.capacity, (len(fakes),)).tolist()
        out = fakes.clone()
        count = int(self.count)
        for i, fake in enumerate(fakes):
            if count < self.capacity:
                self.images[count] = fake
                count += 1
            elif swaps[i]:
                out[i] = self.images[slots[i]]
                self.images[slots[i]] = fake
        self.count.fill_(count)
        return out
