"""A generated project's output folder: start over, continue, or leave a finished run alone.

Every template's `train.py` begins the same way: `--restart` moves the old
run aside (nothing is deleted); a folder holding `metrics.json`, the last
file a run writes, holds a finished run, which is reported and left as it
is; anything else (an empty folder, or an interrupted run's checkpoints) is
trained, continuing after the last finished epoch.
"""

import json
from pathlib import Path

METRICS_FILE = "metrics.json"  # written last: its presence marks a finished run


def prepare_output_folder(output_dir, restart=False, headline=("test_accuracy",)):
    """Gets `output_dir` ready for `train.py`, or says that its run is finished.

    Args:
        output_dir: str or Path. The run's output folder.
        restart: bool. Move a previous run aside first (`train.py --restart`).
        headline: str or sequence of str. Metrics to quote about a finished
            run, the first one it has: `"test_accuracy"` is printed as
            "test accuracy 0.912".

    Returns:
        The finished run's metrics (a dict) when there is nothing to do;
        None when training should go on (the folder then exists).
    """
    output_dir = Path(output_dir)
    if restart:
        # Imported here: resume imports Keras, and a finished run needs none of it.
        from tl_templates.resume import set_aside_run

        previous = set_aside_run(output_dir)
        if previous:
            print(f"Moved the previous run to {previous}")
    metrics_path = output_dir / METRICS_FILE
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(
                f"{metrics_path} is damaged ({error}). Start over with python train.py "
                "--restart (moves the folder aside), or --output ANOTHER_FOLDER."
            ) from None
        headlines = [headline] if isinstance(headline, str) else list(headline)
        quoted = [
            f"{name.replace('_', ' ')} {metrics[name]:.3f}"
            for name in headlines
            if isinstance(metrics.get(name), int | float)
        ]
        print(f"{output_dir} holds a finished run ({(quoted or ['see metrics.json'])[0]}); "
              "nothing to do.\nTo train again: python train.py --restart (moves it aside), "
              "or --output ANOTHER_FOLDER.")  # fmt: skip
        return metrics
    output_dir.mkdir(parents=True, exist_ok=True)
    return None
