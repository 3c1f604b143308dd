"""Class-per-folder data sets (`root/<class name>/<file>`): the one way to list them.

`scan_class_folders` is what training reads (`tl_templates.scan_image_folder`,
`tl_templates.scan_audio_folder`): it raises on a layout it cannot train on.
`class_dirs` and `class_files` are its two steps, which `tl-templates doctor`
(`tl_templates.data.layouts`) uses to report instead of raise, so the doctor
lists exactly the files that training will.
"""

import dataclasses
from pathlib import Path

import numpy as np


@dataclasses.dataclass
class ClassFolder:
    """The files of a `root/<class name>/<file>` folder.

    Attributes:
        root: Path. The folder.
        class_names: list. Sub-folder names, sorted; label `i` is `class_names[i]`.
        paths: list. The data files (images, WAV files), class by class.
        labels: np.ndarray. Integer label of each file.
    """

    root: Path
    class_names: list
    paths: list
    labels: np.ndarray


@dataclasses.dataclass
class ClassFiles:
    """What one class folder holds, sorted by name; hidden entries are left out.

    Attributes:
        files: list. Files with one of the wanted extensions (any case).
        ignored: list. Other entries that are not folders.
        nested: list. Folders inside the class folder (not read).
    """

    files: list
    ignored: list
    nested: list


def _visible(path):
    return not path.name.startswith(".")


def class_dirs(root):
    """The class folders of `root`: its sub-folders that are not hidden, sorted."""
    return sorted(path for path in Path(root).iterdir() if path.is_dir() and _visible(path))


def class_files(class_dir, extensions):
    """Sorts the entries of one class folder into data files, other entries and folders."""
    found = ClassFiles([], [], [])
    for path in sorted(Path(class_dir).iterdir()):
        if not _visible(path):
            continue
        if path.is_dir():
            found.nested.append(path)
        elif path.is_file() and path.suffix.lower() in extensions:
            found.files.append(path)
        else:
            found.ignored.append(path)
    return found


def scan_class_folders(root, extensions, kind, example_files, fix):
    """Lists the data files of a class-per-folder data set.

    Hidden files, sub-folders and files of other extensions are ignored.

    Args:
        root: str or Path. The folder.
        extensions: tuple. Lower-case file extensions, with the dot.
        kind: str. What the files are, for errors ("images", "WAV files").
        example_files: tuple. Two `class/file` names for the error that asks
            for class folders, e.g. `("cat/001.jpg", "dog/001.jpg")`.
        fix: str. What to add to an empty class folder ("images", "recordings").

    Returns:
        A `ClassFolder`.

    Raises:
        FileNotFoundError: `root` does not exist.
        ValueError: fewer than two class folders, or a class folder with no file
            of `extensions`.

    Examples:

    >>> from tl_templates import paths
    >>> from tl_templates.data import folders
    >>> folder = folders.scan_class_folders(paths.SAMPLES_DIR / "wake_word", (".wav",),
    ...                                     "WAV files", ("yes/1.wav", "no/1.wav"), "clips")
    >>> folder.class_names
    ['background', 'marvin', 'other']
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Data folder not found: {root}")
    dirs = class_dirs(root)
    if len(dirs) < 2:
        first, second = example_files
        raise ValueError(
            f"{root} needs one sub-folder per class (at least two), e.g. {root}/{first} "
            f"and {root}/{second}. Found {len(dirs)} sub-folder(s)."
        )
    paths, labels = [], []
    for label, class_dir in enumerate(dirs):
        files = class_files(class_dir, extensions).files
        if not files:
            raise ValueError(
                f"Class folder {class_dir} has no {kind} ({', '.join(extensions)}). "
                f"Add {fix} or remove the folder."
            )
        paths.extend(files)
        labels.extend([label] * len(files))
    return ClassFolder(root, [path.name for path in dirs], paths, np.array(labels))
