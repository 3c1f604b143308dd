"""A generated project's settings: the dataclass defaults, then config.toml, then flags."""

import dataclasses
import tomllib


def load_project_config(config_class, path, overrides=None):
    r"""Reads `path` (TOML) into `config_class`, then applies `overrides`.

    Args:
        config_class: a dataclass. Its fields are the known settings, with
            their defaults.
        path: str or Path. The project's `config.toml`.
        overrides: dict or None. Command-line values; None values are skipped
            (the flag was not given).

    Returns:
        A `config_class` instance.

    Raises:
        ValueError: `path` is not valid TOML, or names a setting
            `config_class` does not have; the message names the file and
            lists the known settings.

    Examples:

    >>> import dataclasses, pathlib, tempfile
    >>> from tl_templates.project.config import load_project_config
    >>> @dataclasses.dataclass
    ... class Config:
    ...     epochs: int = 10
    ...     seed: int = 42
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "config.toml"
    >>> _ = path.write_text("epochs = 3\n")
    >>> load_project_config(Config, path, {"seed": 7, "epochs": None})
    Config(epochs=3, seed=7)
    """
    known = {field.name for field in dataclasses.fields(config_class)}
    try:
        with open(path, "rb") as file:
            values = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}.") from None
    for key in values:
        if key not in known:
            raise ValueError(
                f"{path}: unknown setting {key!r}. Known settings: {', '.join(sorted(known))}."
            )
    values.update({key: value for key, value in (overrides or {}).items() if value is not None})
    return config_class(**values)
