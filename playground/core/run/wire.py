"""The wire between the app and its helper processes: two one-way pipes and one codec.

Both helper processes (a run's training process, the inference process) talk
to the app through a `Duplex`, and everything on it goes through `dumps` and
`loads`: pickle, with CPU tensors sent as NumPy arrays and made tensors again
on arrival (a tensor pickled as itself is 5-40x slower; multiprocessing's own
pickler would send it as a handle to shared memory that only a
multiprocessing child can open). So weights cross as plain `state_dict`s of
tensors and no caller converts them. Both ends are this app, so pickle is safe.

Torch-free at import: the app starts its helpers before it imports torch.
"""

from __future__ import annotations

import io
import pickle
import sys
from multiprocessing.connection import Connection

# dtypes NumPy lacks: such tensors pickle as themselves (slower, but rare: a bf16 model's weights)
_NOT_IN_NUMPY = ("torch.bfloat16", "torch.float8_e4m3fn", "torch.float8_e5m2")


def _tensor(array):
    """A tensor sharing `array`'s memory (the receiving end of `dumps`)."""
    import torch

    return torch.from_numpy(array)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        torch = sys.modules.get("torch")  # no torch imported: no tensor to send
        if (torch is not None and type(obj) is torch.Tensor and obj.device.type == "cpu"
                and obj.layout == torch.strided and not obj.requires_grad and str(obj.dtype) not in _NOT_IN_NUMPY):
            return _tensor, (obj.numpy(),)
        return NotImplemented


def dumps(obj) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def loads(data: bytes):
    return pickle.loads(data)


class Duplex:
    """One connection over two one-way pipes: the shape both ends of a helper process talk through."""

    def __init__(self, reader: Connection, writer: Connection):
        self.reader, self.writer = reader, writer

    @classmethod
    def over(cls, read_fd: int, write_fd: int) -> Duplex:
        """Over the read end of one pipe and the write end of the other."""
        return cls(Connection(read_fd, writable=False), Connection(write_fd, readable=False))

    def send(self, obj) -> None:
        self.writer.send_bytes(dumps(obj))

    def send_encoded(self, data: bytes) -> None:
        """What `dumps` made earlier (in another thread, say)."""
        self.writer.send_bytes(data)

    def recv(self):
        return loads(self.reader.recv_bytes())

    def poll(self, timeout: float) -> bool:
        return self.reader.poll(timeout)

    def close(self) -> None:
        self.reader.close()
        self.writer.close()
