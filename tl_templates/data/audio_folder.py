"""Class-per-folder WAV data sets: scan, check, load as fixed-length clips, split."""

import numpy as np

from tl_templates.data.audio_files import SAMPLE_RATE, fit_to_length, read_wav
from tl_templates.data.folders import ClassFolder, scan_class_folders
from tl_templates.data.splits import Splits, split_indices

AUDIO_EXTENSIONS = (".wav", ".wave")


# The same listing and split as for images (`tl_templates.data.folders`,
# `tl_templates.data.splits`); the names below stay for the projects that use them.
AudioFolder = ClassFolder
AudioSplits = Splits


def scan_audio_folder(root):
    """Lists the WAV files of a class-per-folder data set (a `tl_templates.AudioFolder`).

    Hidden files and files that are not WAV (by extension) are ignored.

    Raises:
        FileNotFoundError: `root` does not exist.
        ValueError: fewer than two class folders, or a class folder with no WAV file.
    """
    return scan_class_folders(root, AUDIO_EXTENSIONS, "WAV files",
                              ("marvin/001.wav", "background/001.wav"), "recordings")  # fmt: skip


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
