"""Write the small real checkpoints that catalog/tests/test_files_pickles.py uploads.

torch is not a dependency of the hub (it is large), so this script runs in a throwaway virtualenv:

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python catalog/tests/data/make_checkpoints.py

It overwrites the files beside it (a few KB each, committed). torch.save writes a zip archive that
holds a random serialization id, so the bytes differ between runs; what they reference does not.

- linear_state_dict.pt          torch.save(nn.Linear(4, 3).state_dict())                -> accepted
- linear_state_dict_legacy.pt   the same with _use_new_zipfile_serialization=False      -> accepted
- training_checkpoint.pt        model + optimizer state, epoch, bf16/int64 tensors,
                                a parameter, torch.Size, a dtype and a device           -> accepted
- whole_module.pt               torch.save(nn.Linear(4, 3)): the module's class must be
                                imported to load it, as torch.load(weights_only=True)
                                refuses too                                             -> rejected
- numpy_arrays_p2.bin           pickle.dumps of numpy arrays and scalars, protocol 2
- numpy_arrays_p5.bin           the same, protocol 5                                     -> accepted
- object_array.npy              np.save(allow_pickle=True) of an object array            -> accepted
"""

import pickle
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent


def main() -> None:
    torch.manual_seed(0)
    linear = nn.Linear(4, 3)
    torch.save(linear.state_dict(), HERE / "linear_state_dict.pt")
    torch.save(linear.state_dict(), HERE / "linear_state_dict_legacy.pt", _use_new_zipfile_serialization=False)
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1, momentum=0.9)
    linear(torch.ones(2, 4)).sum().backward()
    optimizer.step()
    torch.save(
        {
            "model": linear.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": 3,
            "scale": torch.ones(2, dtype=torch.bfloat16),
            "steps": torch.arange(3),
            "extra": nn.Parameter(torch.zeros(2)),
            "shape": torch.Size([2, 3]),
            "dtype": torch.float16,
            "device": torch.device("cpu"),
            "tags": {"fine-tune"},
            "ratio": complex(1, 2),
        },
        HERE / "training_checkpoint.pt",
    )
    torch.save(linear, HERE / "whole_module.pt")

    arrays = {
        "w": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.zeros(3),
        "n": np.int64(7),
        "x": np.float32(0.5),
        "mask": np.array([True, False]),
    }
    (HERE / "numpy_arrays_p2.bin").write_bytes(pickle.dumps(arrays, protocol=2))
    (HERE / "numpy_arrays_p5.bin").write_bytes(pickle.dumps(arrays, protocol=5))
    np.save(HERE / "object_array.npy", np.array([{"lr": 0.1}, [1, 2], "text", None], dtype=object), allow_pickle=True)
    for path in sorted(HERE.glob("*")):
        if path.suffix != ".py":
            print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
