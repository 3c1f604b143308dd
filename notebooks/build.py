"""Rebuilds the notebooks: sync each .py source to its .ipynb and run it in quick mode.

The source of every notebook is `notebooks/NN_name.py` (jupytext percent
format). For each one, this script

1. writes the Colab badge and the Colab install cell from the repository URL
   in pyproject.toml (`[project.urls] Repository`), the one place it is kept;
2. executes the notebook with a real Jupyter kernel, in quick mode (the
   default `QUICK = True`), in a scratch folder, so nothing lands in the repo;
3. writes `NN_name.ipynb` with the outputs and plots of that run (local paths
   taken out of them), and the `.py` again from the same cells, so the pair is
   in sync.

`--check` runs nothing: it checks that each pair is in sync, that the badge and
install cell match pyproject.toml, that the outputs hold a plot, no error, no
local path and no Python warning, and that every verdict sentence in them
(`tl_templates.experiments.results.Comparison.sentence`) agrees with the numbers it states,
re-derived with the same rule (`tl_templates.experiments.results.check_verdicts`): a
hand-edited or stale output fails.

    python notebooks/build.py                     # every notebook
    python notebooks/build.py 01 03_four_cases    # some of them (prefix or name)
    python notebooks/build.py --check             # only check sync, badge, outputs
"""

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat

NOTEBOOKS_DIR = Path(__file__).resolve().parent
ROOT = NOTEBOOKS_DIR.parent
PATTERN = "[0-9][0-9]_*.py"
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 900
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
JUPYTEXT_METADATA = {
    "formats": "ipynb,py:percent",
    "text_representation": {
        "extension": ".py",
        "format_name": "percent",
    },
}
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": KERNEL_NAME}
# Keras warns at every fit() on a tf.data.Dataset that its default shuffle=True is
# ignored (the kit's datasets shuffle in their pipelines): noise in a notebook. Any
# other warning stays, and fails `check`.
KERNEL_WARNINGS = "ignore:`shuffle=True` was passed:UserWarning"
WARNING_RE = re.compile(r"\b[A-Z]\w*Warning: ")


def _project():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]


def repository_url():
    """`[project.urls] Repository` from pyproject.toml, without a trailing slash."""
    return _project()["urls"]["Repository"].rstrip("/")


def colab_url(name, repository=None):
    """Opens `notebooks/NAME.ipynb` of the repository's main branch in Colab."""
    repository = repository or repository_url()
    owner_and_repo = repository.split("github.com/", 1)[1]
    return f"https://colab.research.google.com/github/{owner_and_repo}/blob/main/notebooks/{name}.ipynb"


def colab_badge(name, repository=None):
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(name, repository)})"


def install_cell_source(repository=None):
    """The notebooks' first code cell: on Colab only, pip-install the kit from its repository."""
    repository = repository or repository_url()
    requirement = f"{_project()['name']}[notebooks] @ git+{repository}"
    return f"""\
# On Colab only: install the kit with pip from its repository, with the notebooks'
# extras (its templates, bundled data and lab backbones come inside the package).
# Elsewhere, install it first the same way, or from a clone: pip install -e ".[notebooks]"
import subprocess
import sys

if "google.colab" in sys.modules:
    kit = "{requirement}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", kit], check=True)"""


def notebook_paths(selection=()):
    """The notebook sources, `notebooks/NN_*.py`, optionally filtered by name prefix."""
    paths = sorted(NOTEBOOKS_DIR.glob(PATTERN))
    if selection:
        chosen = [path for path in paths if any(path.stem.startswith(s) for s in selection)]
        unknown = [s for s in selection if not any(p.stem.startswith(s) for p in paths)]
        if unknown:
            known = ", ".join(path.stem for path in paths)
            raise SystemExit(f"No notebook matches {unknown}. Known notebooks: {known}.")
        paths = chosen
    return paths


def read_source(path):
    """The notebook of a .py source, with the badge and install cell brought up to date."""
    notebook = jupytext.read(path, fmt="py:percent")
    cells = notebook.cells
    if len(cells) < 3 or cells[0].cell_type != "markdown" or cells[1].cell_type != "code":
        raise SystemExit(
            f"{path}: a notebook starts with a markdown header, the install cell and the "
            "parameters cell (see notebooks/01_feature_extraction.py)."
        )
    if not BADGE_RE.search(cells[0].source):
        raise SystemExit(f"{path}: the header cell has no '[![Open In Colab](...)](...)' badge.")
    cells[0].source = BADGE_RE.sub(lambda _: colab_badge(path.stem), cells[0].source)
    cells[1].source = install_cell_source()
    notebook.metadata["jupytext"] = dict(JUPYTEXT_METADATA)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    return notebook


CPU_PROBE = (
    "import resource as _resource\n"
    "_usage = _resource.getrusage(_resource.RUSAGE_SELF)\n"
    "print(_usage.ru_utime + _usage.ru_stime)"
)


def execute(notebook, name):
    """Runs every cell with a real kernel in a scratch folder; outputs go into `notebook`.

    Returns:
        The kernel's CPU seconds (all threads): a measure of the work that does not
        depend on how busy the machine is, unlike the wall clock.
    """
    from nbclient import NotebookClient

    notebook.cells.append(nbformat.v4.new_code_cell(CPU_PROBE))
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as folder:
        client = NotebookClient(
            notebook,
            kernel_name=KERNEL_NAME,
            timeout=CELL_TIMEOUT_SECONDS,
            resources={"metadata": {"path": folder}},
            record_timing=True,
            # Native (C++) output, such as TensorFlow's start-up log lines, goes to
            # this terminal rather than into the notebook.
            extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        )
        environment = {**os.environ, "PYTHONWARNINGS": KERNEL_WARNINGS}
        try:
            client.execute(env=environment)
        finally:
            probe = notebook.cells.pop()
            remove_local_paths(notebook, folder)
    return float(probe.outputs[0]["text"]) if probe.outputs else float("nan")


def local_paths(folder=None):
    """Prefixes of this machine's paths, longest first: the run's scratch folder, the
    virtual environment, the repository, the home folder."""
    prefixes = {folder, sys.prefix, sys.base_prefix, str(ROOT), str(Path.home())}
    return sorted((p.rstrip("/") for p in prefixes if p and len(p) > 1), key=len, reverse=True)


def remove_local_paths(notebook, folder=None):
    """Replaces this machine's path prefixes in the text outputs with `.` (the scratch
    folder, the repository) or `<python>` (the environment), so no build leaks them."""
    names = {folder: ".", str(ROOT): ".", str(Path.home()): "~"}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for holder, key in _texts(output):
                text = holder[key]
                for prefix in local_paths(folder):
                    text = text.replace(prefix, names.get(prefix, "<python>"))
                holder[key] = text


def _texts(output):
    """(dict, key) of each text an output holds: a stream, a plain-text result, a
    traceback's lines are left alone (an error fails the build anyway)."""
    if "text" in output and isinstance(output["text"], str):
        yield output, "text"
    data = output.get("data", {})
    if isinstance(data.get("text/plain"), str):
        yield data, "text/plain"


def pop_timings(notebook):
    """Seconds each code cell took, taken out of the cells' metadata (they would
    change the .ipynb at every build)."""
    from datetime import datetime

    seconds = []
    for cell in notebook.cells:
        timing = cell.metadata.pop("execution", None)
        if cell.cell_type == "code" and timing and "iopub.status.idle" in timing:
            started = datetime.fromisoformat(timing["iopub.execute_input"].rstrip("Z"))
            ended = datetime.fromisoformat(timing["iopub.status.idle"].rstrip("Z"))
            seconds.append((ended - started).total_seconds())
        elif cell.cell_type == "code":
            seconds.append(0.0)
    return seconds


def code_sources(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def check(path):
    """Problems with one notebook pair: sync, badge, install cell, outputs. Empty if none."""
    problems = []
    ipynb = path.with_suffix(".ipynb")
    if not ipynb.exists():
        return [f"{ipynb.name} is missing: run python notebooks/build.py {path.stem}"]
    source = jupytext.read(path, fmt="py:percent")
    built = nbformat.read(ipynb, as_version=4)
    if code_sources(source) != code_sources(built):
        problems.append(f"{path.name} and {ipynb.name} differ: rebuild")
    if colab_badge(path.stem) not in source.cells[0].source:
        problems.append(f"{path.name}: the Colab badge does not match pyproject.toml")
    if source.cells[1].source.strip() != install_cell_source().strip():
        problems.append(f"{path.name}: the install cell does not match pyproject.toml")
    code = [cell for cell in built.cells if cell.cell_type == "code"]
    if any(output.get("output_type") == "error" for cell in code for output in cell.outputs):
        problems.append(f"{ipynb.name} holds an error output")
    if not code or not code[-1].outputs:
        problems.append(f"{ipynb.name}: the last cell (the verdict) has no output")
    if not any("image/png" in output.get("data", {}) for cell in code for output in cell.outputs):
        problems.append(f"{ipynb.name} has no plot")
    return problems + output_problems(built, ipynb.name)


# Text that marks a local path in an output, besides this repository's and this
# environment's own folders.
LOCAL_PATH_MARKERS = ("site-packages", "/.venv/", "/.virtualenvs/")


def output_problems(notebook, name):
    """Problems in a built notebook's outputs: a verdict that its numbers contradict,
    a local path, a Python warning."""
    from tl_templates.experiments.results import check_verdicts

    problems = []
    for number, cell in enumerate(notebook.cells, start=1):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else ():
            for holder, key in _texts(output):
                text = holder[key]
                where = f"{name}, cell {number}"
                problems += [f"{where}: {problem}" for problem in check_verdicts(text)]
                local = (*LOCAL_PATH_MARKERS, str(ROOT), sys.prefix)
                markers = [marker for marker in local if marker in text]
                if markers:
                    problems.append(f"{where}: a local path in the output ({markers[0]!r})")
                warning = WARNING_RE.search(text)
                if warning:
                    problems.append(f"{where}: a Python warning in the output "
                                    f"({warning.group(0).strip()})")  # fmt: skip
    return problems


def build(path):
    started = time.perf_counter()
    notebook = read_source(path)
    cpu_seconds = execute(notebook, path.stem)
    seconds = time.perf_counter() - started
    cells = pop_timings(notebook)
    slowest = sorted(range(len(cells)), key=cells.__getitem__, reverse=True)[:4]
    print(
        f"  kernel CPU time {cpu_seconds:.0f} s; slowest code cells (wall): "
        + ", ".join(f"#{i + 1} {cells[i]:.0f} s" for i in slowest)
    )
    jupytext.write(notebook, path.with_suffix(".ipynb"), fmt="ipynb")
    jupytext.write(notebook, path, fmt="py:percent")
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    parser.add_argument("--check", action="store_true", help="check only, run nothing")
    args = parser.parse_args(argv)
    paths = notebook_paths(args.names)
    if args.check:
        problems = [problem for path in paths for problem in check(path)]
        print("\n".join(problems) or f"{len(paths)} notebooks in sync, with outputs.")
        return 1 if problems else 0
    for path in paths:
        print(f"{path.stem}: running in quick mode ...", flush=True)
        seconds = build(path)
        print(f"{path.stem}: built in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
