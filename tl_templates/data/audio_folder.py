"""Class-per-folder WAV data sets: scan, check, load as fixed-length clips, split."""

import dataclasses
from pathlib import Path

import numpy as np

from tl_templates.data.audio_files import SAMPLE_RATE, fit_to_length, read_wav
from tl_templates.data.image_folder import split_indices

AUDIO_EXTENSIONS = (".wav", ".wave")


@dataclasses.dataclass
class AudioFolder:
    """The files of a `root/<class name>/<clip>.wav` folder.

    Attributes:
        root: Path. The folder.
        class_names: list. Sub-folder names, sorted; label `i` is `class_names[i]`.
        paths: list. WAV files, class by class.
        labels: np.ndarray. Integer label of each file.
    """

    root: Path
    class_names: list
    paths: list
    labels: np.ndarray


@dataclasses.dataclass
class AudioSplits:
    """Clips loaded as float32 waveforms `(count, samples)`, split three ways."""

    class_names: list
    train: tuple
    validation: tuple
    test: tuple

    def sizes(self):
        return {name: len(getattr(self, name)[1]) for name in ("train", "validation", "test")}


def scan_audio_folder(root):
    """Lists the WAV files of a class-per-folder data set.

    Hidden files and files that are not WAV (by extension) are ignored.

    Raises:
        FileNotFoundError: `root` does not exist.
        ValueError: fewer than two class folders, or a class folder with no WAV file.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Data folder not found: {root}")
    class_dirs = sorted(
        path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")
    )
    if len(class_dirs) < 2:
        raise ValueError(
            f"{root} needs one sub-folder per class (at least two), e.g. {root}/marvin/001.wav "
            f"and {root}/background/001.wav. Found {len(class_dirs)} sub-folder(s)."
        )
    paths, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        clips = sorted(
            path
            for path in class_dir.iterdir()
            if path.is_file()
            and not path.name.startswith(".")
            and path.suffix.lower() in AUDIO_EXTENSIONS
        )
        if not clips:
            raise ValueError(
                f"Class folder {class_dir} has no WAV files ({', '.join(AUDIO_EXTENSIONS)}). "
                "Add recordings or remove the folder."
            )
        paths.extend(clips)
        labels.extend([label] * len(clips))
    return AudioFolder(root, [path.name for path in class_dirs], paths, np.array(labels))


def load_clips(paths, samples, sample_rate=SAMPLE_RATE):
    """WAV files as one float32 array `(len(paths), samples)`, each cut or padded
    to `samples` (see `tl_templates.data.audio_files.fit_to_length`)."""
    clips = np.zeros((len(paths), samples), dtype="float32")
    for index, path in enumerate(paths):
        clips[index] = fit_to_length(read_wav(path, sample_rate), samples)
    return clips


def load_audio_splits(root, samples, validation_fraction=0.15, test_fraction=0.15, seed=0):
    """Scans, loads and splits a class-per-folder WAV data set.

    Args:
        root: str or Path. A folder with one sub-folder of WAV files per class.
        samples: int. Clip length in samples at 16 kHz; longer recordings keep
            their loudest stretch, shorter ones are padded with silence.
        validation_fraction: float. Share of each class held out for validation.
        test_fraction: float. Share of each class held out for the final test.
        seed: int. The same seed gives the same split.

    Returns:
        A `tl_templates.AudioSplits`.

    Raises:
        ValueError: a file that cannot be read (named), or a class too small.

    Examples:

    >>> import tl_templates
    >>> from tl_templates import paths
    >>> splits = tl_templates.load_audio_splits(paths.SAMPLES_DIR / "wake_word", 15600)
    >>> splits.class_names, splits.train[0].shape[1:]
    (['background', 'marvin', 'other'], (15600,))
    """
    folder = scan_audio_folder(root)
    train, validation, test = split_indices(
        folder.labels, folder.class_names, validation_fraction, test_fraction, seed
    )
    clips = load_clips(folder.paths, samples)
    return AudioSplits(
        folder.class_names,
        *((clips[indices], folder.labels[indices]) for indices in (train, validation, test)),
    )
