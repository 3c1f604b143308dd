"""Loading what the kit saves, safely."""

import keras


def load_model(path, compile=True):
    """Loads a `.keras` file saved by the kit or a generated project.

    `safe_mode=True`: a file that needs arbitrary code to load (a Lambda
    layer) is refused instead of run. The kit's own layers are registered
    first, so its models load by name.

    Args:
        path: str or Path. The `.keras` file.
        compile: bool. Restore the optimizer and loss too; `False` for
            prediction only (faster, and no optimizer-state warnings).
    """
    import tl_templates.audio_backbones  # noqa: F401  (registers HubAudioEmbedding)
    import tl_templates.audio_frontend  # noqa: F401  (registers the audio layers)
    import tl_templates.preprocessing  # noqa: F401  (registers ImageNetPreprocessing)

    return keras.saving.load_model(path, compile=compile, safe_mode=True)
