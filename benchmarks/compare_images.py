"""Time the deterministic image comparison on two 2048x2048 images (target: under 0.1 s).

Run: `python benchmarks/compare_images.py`. For two pairs of PNGs it prints the seconds of
the full `compare_outputs` call (decode both files, check format, size and flatness, mean
pixel distance) and of the pixel distance alone:

- "smooth": a picture-like gradient and a copy with small local differences, as a seeded
  rerun on another GPU gives — the typical case the target is about;
- "noise": random pixels, the worst case for PNG decoding (it dominates the time there).

The seed tool's pure-Python pixel loop took about 1.4 s for one 1024x1024 pair.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.outputs.compare import compare_outputs  # noqa: E402
from tasks.outputs.media import image_distance  # noqa: E402

SIZE = 2048


def _smooth(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    base = np.stack([x * 255 // SIZE, y * 255 // SIZE, (x + y) * 255 // (2 * SIZE)], axis=-1)
    base = base.astype(np.uint8)
    changed = base.copy()
    patch = changed[512:768, 512:768].astype(np.int16) + rng.integers(-3, 4, (256, 256, 3))
    changed[512:768, 512:768] = np.clip(patch, 0, 255).astype(np.uint8)
    return base, changed


def _noise(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    base = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    changed = np.clip(base.astype(np.int16) + rng.integers(-2, 3, base.shape), 0, 255)
    return base, changed.astype(np.uint8)


def _best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _bench(folder: Path, name: str, pair: tuple[np.ndarray, np.ndarray]) -> None:
    old, new = folder / f"{name}-old.png", folder / f"{name}-new.png"
    Image.fromarray(pair[0]).save(old, compress_level=1)
    Image.fromarray(pair[1]).save(new, compress_level=1)
    result = compare_outputs(str(old), str(new), deterministic=True)
    assert result.verdict == "match", result
    full = _best_of(5, lambda: compare_outputs(str(old), str(new), deterministic=True))
    with Image.open(old) as a, Image.open(new) as b:
        a.load()
        b.load()
        pixels = _best_of(5, lambda: image_distance(a, b))
    print(f"{name:>6}: compare_outputs {full:.4f} s   pixel distance only {pixels:.4f} s")


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"two {SIZE}x{SIZE} RGB PNGs, deterministic comparison, best of 5")
    with tempfile.TemporaryDirectory() as tmp:
        # Output files are only read inside the tool's home: make the scratch directory it.
        os.environ["COG_SAFE_PUSH_HOME"] = tmp
        _bench(Path(tmp), "smooth", _smooth(rng))
        _bench(Path(tmp), "noise", _noise(rng))


if __name__ == "__main__":
    main()
