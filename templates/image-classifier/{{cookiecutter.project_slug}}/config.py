"""Settings: the defaults and their meaning here, your values in config.toml.

All paths of the project come from this file.
"""

import dataclasses
from pathlib import Path

from tl_templates.project.config import load_project_config

PROJECT_DIR = Path(__file__).resolve().parent
CONFIG_FILE = PROJECT_DIR / "config.toml"
OUTPUT_DIR = PROJECT_DIR / "outputs"


@dataclasses.dataclass
class Config:
    # Model
    backbone: str = "lab_glyphs"  # any name from `tl-templates backbones`
    weights: str = "pretrained"  # "pretrained", "imagenet", "none" or a .weights.h5 / .h5 path
    image_size: int = 32  # images are resized to image_size x image_size
    dropout_rate: float = 0.2  # dropout before the new classifier layer

    # Data
    data_dir: str = "data/sample"  # one sub-folder of images per class; relative to this folder
    validation_fraction: float = 0.15  # share of each class used to pick the best epoch
    test_fraction: float = 0.15  # share of each class kept for the final test
    # Random shifts, rotations and zooms of the training images. "auto": in the phases
    # that train backbone blocks (fine-tuning, from scratch); the head phase then trains
    # on cached features. true: every phase; false: none.
    augment: bool | str = "auto"
    # Once the strategy is chosen, train it again on the training and validation images
    # together, keeping its last epoch (the test images stay out). "auto": below 1,000
    # training images, where the validation images are a share worth having. true / false.
    refit: bool | str = "auto"
    # Weight each class's examples in the loss so that every class counts the same
    # (n / (classes x count)). "auto": when the largest class has at least 3 times the
    # smallest's training examples (the imbalance `tl-templates doctor` warns about).
    # true / false.
    class_weights: bool | str = "auto"

    # Transfer strategy
    strategy: str = "auto"  # auto: the advisor decides from your data; or a strategy name
    similarity: str = "similar"  # is your data like the backbone's source task? similar | different
    blocks: dict = dataclasses.field(default_factory=dict)  # strategy "custom": block -> trains?
    truncate_after: str = ""  # strategy "custom": last block kept ("" keeps all)

    # Training
    # A phase runs its epochs and at least a minimum of steps (300 for the head, 600 for
    # fine-tuning and from scratch): on a small data set each epoch then makes several
    # passes through the images (README: "Budgets").
    head_epochs: int = 30  # phase 1: new head on the frozen backbone (cheap when cached)
    fine_tune_epochs: int = 10  # phase 2: unfrozen blocks, small learning rate
    batch_size: int = 32  # examples per step on each replica (a step takes batch_size x replicas)
    # None: the backbone family's measured rates (`tl-templates backbones` family;
    # lab networks 3e-3 head, 3e-4 fine-tuning, 3e-3 from scratch; ImageNet networks
    # 1e-3, 1e-5, 1e-3). Every phase decays its rate to zero on a cosine.
    head_learning_rate: float | None = None  # phase 1, and the single phase from scratch
    fine_tune_learning_rate: float | None = None  # phase 2
    seed: int = 42  # same seed, same split and same initial head
    deterministic: bool = False  # identical numbers on every run (slower on GPU); --seed sets it

    # Hardware
    distribution: str = "auto"  # auto | default | mirrored | multi_worker | tpu (see README)
    # Speed
    mixed_precision: str = "auto"  # auto: float16 on a GPU, bfloat16 on a TPU, off (float32) on a CPU
    jit_compile: str | bool = "auto"  # XLA-compiled steps; auto: on a GPU or TPU, off on a CPU

    @property
    def data_path(self):
        return PROJECT_DIR / self.data_dir

    @property
    def weights_argument(self):
        """`weights` as `build_backbone` takes it ("none" means random initialisation)."""
        return None if self.weights.lower() == "none" else self.weights


def load_config(path=CONFIG_FILE, **overrides):
    """The defaults above, updated from `path`, then from `overrides` (None values skipped)."""
    return load_project_config(Config, path, overrides)
