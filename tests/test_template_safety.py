"""Template generation safety: no file outside the output folder, no surprise templates."""

import hashlib
import json

import pytest

from tl_templates import cli
from tl_templates.project import generate as projects


def snapshot(folder):
    """Every path under `folder`, with a hash of each file's bytes."""
    return {
        path.relative_to(folder).as_posix(): (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        )
        for path in sorted(folder.rglob("*"))
    }


def new(capsys, *args):
    code = cli.main(["new", *map(str, args)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "slug",
    ["../escape", "..", ".", "a/b", "a\\b", "nested/../../escape", "C:escape", "", "ABSOLUTE"],
)
def test_path_answers_are_rejected_with_nothing_written(capsys, tmp_path, slug):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    if slug == "ABSOLUTE":
        slug = str(tmp_path / "elsewhere")
    before = snapshot(tmp_path)
    code, err = new(capsys, "image-classifier", "-o", tmp_path / "out", "--no-input",
                    f"project_slug={slug}")  # fmt: skip
    assert code == 1
    assert err.startswith("tl-templates new: error: project_slug names the project's folder")
    assert f"Received: project_slug={slug!r}" in err and "Nothing was written" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert snapshot(tmp_path) == before


def test_answers_asked_interactively_are_checked_too(tmp_path, monkeypatch):
    from cookiecutter import prompt

    def answer(key, default, *args):
        return "../../escape" if key == "project_slug" else default

    monkeypatch.setattr(prompt, "read_user_variable", answer)
    monkeypatch.setattr(prompt, "read_user_choice", lambda key, options, *args: options[0])
    with pytest.raises(ValueError, match="project_slug='../../escape'"):
        projects.new_project("image-classifier", output_dir=tmp_path / "a" / "b", no_input=False)
    assert list(tmp_path.iterdir()) == []


def local_template(root, settings, tree):
    """A small cookiecutter template folder: cookiecutter.json and `tree` files."""
    root.mkdir(parents=True)
    (root / "cookiecutter.json").write_text(json.dumps(settings))
    for name, text in tree.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_local_template_cannot_write_outside_through_any_path_answer(capsys, tmp_path):
    template = local_template(
        tmp_path / "tpl",
        {"name": "project", "sub": "../../../outside"},
        {"{{cookiecutter.name}}/{{cookiecutter.sub}}/x.txt": "hello"},
    )
    (tmp_path / "out").mkdir()
    before = snapshot(tmp_path)
    code, err = new(capsys, template, "-o", tmp_path / "out", "--no-input")
    assert code == 1 and "sub='../../../outside'" in err
    assert snapshot(tmp_path) == before


def test_a_local_template_must_be_named_as_a_path(capsys, tmp_path, monkeypatch):
    local_template(tmp_path / "mine", {"name": "made"}, {"{{cookiecutter.name}}/a.txt": "{{1+1}}"})
    monkeypatch.chdir(tmp_path)
    code, err = new(capsys, "mine", "--no-input")
    assert code == 1 and "Unknown template. Received: template='mine'" in err
    assert "./my-template" in err
    code, _ = new(capsys, "./mine", "-o", "out", "--no-input")
    assert code == 0
    assert (tmp_path / "out" / "made" / "a.txt").read_text() == "2"


@pytest.mark.parametrize(
    "template",
    ["gh:someone/template", "https://github.com/someone/template", "git@github.com:a/b.git",
     "template.zip", "file:///tmp/template"],
)  # fmt: skip
def test_remote_templates_are_never_fetched(capsys, tmp_path, template):
    code, err = new(capsys, template, "-o", tmp_path, "--no-input")
    assert code == 1
    assert "does not download templates" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
