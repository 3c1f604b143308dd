"""Writes the bundled multi-task samples: drawn faces and drawn street scenes.

    python data/samples/make_multitask_samples.py

faces/          images/<age>_<gender>_<race>_<date&time>.jpg (UTKFace names: 0 male,
                1 female) and labels.csv (filename,gender,age) in which some labels
                are left empty, as unknown. Used by templates/face-multitask.
street_scenes/  images/scene_NNN.jpg and labels.csv
                (filename,car,pedestrian,traffic_light,stop_sign: 1, 0, or ? for
                unknown). Used by templates/driving-multilabel.

The pictures are drawn by tl_templates.synthetic.faces and
tl_templates.synthetic.scenes: the labels really are in the pixels. Same seed,
same files.
"""

import argparse
import csv
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tl_templates.synthetic import faces as synthetic_faces
from tl_templates.synthetic import scenes as synthetic_scenes

HERE = Path(__file__).resolve().parent
JPEG_QUALITY = 85


def write_csv(path, header, rows):
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def make_faces(count, size, seed, unknown_fraction):
    output = HERE / "faces"
    shutil.rmtree(output, ignore_errors=True)
    (output / "images").mkdir(parents=True)
    images, ages, genders, races = synthetic_faces.generate_faces(count, seed, size)
    rng = np.random.default_rng(seed + 1)
    rows = []
    for index in range(count):
        # UTKFace's last field is the date and time the photo was taken.
        taken = f"2017{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}{index:09d}"
        name = f"{ages[index]}_{genders[index]}_{races[index]}_{taken}.jpg"
        Image.fromarray(images[index]).save(
            output / "images" / name, quality=JPEG_QUALITY, optimize=True
        )
        # Hide a share of the labels (never both of one face): unknown in the CSV.
        hidden = rng.random() < 2 * unknown_fraction
        hide_gender = hidden and rng.random() < 0.5
        gender = "" if hide_gender else str(genders[index])
        age = "" if hidden and not hide_gender else str(ages[index])
        rows.append([name, gender, age])
    write_csv(output / "labels.csv", ["filename", "gender", "age"], rows)
    return output


def make_scenes(count, size, seed, unknown_fraction):
    output = HERE / "street_scenes"
    shutil.rmtree(output, ignore_errors=True)
    (output / "images").mkdir(parents=True)
    images, labels = synthetic_scenes.generate_scenes(count, seed, size)
    rng = np.random.default_rng(seed + 1)
    rows = []
    for index in range(count):
        name = f"scene_{index:03d}.jpg"
        Image.fromarray(images[index]).save(
            output / "images" / name, quality=JPEG_QUALITY, optimize=True
        )
        cells = ["?" if rng.random() < unknown_fraction else str(value) for value in labels[index]]
        rows.append([name, *cells])
    write_csv(output / "labels.csv", ["filename", *synthetic_scenes.LABELS], rows)
    return output


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=int, default=400)
    parser.add_argument("--scenes", type=int, default=400)
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unknown-fraction", type=float, default=0.15)
    args = parser.parse_args()
    for folder in (
        make_faces(args.faces, args.size, args.seed, args.unknown_fraction),
        make_scenes(args.scenes, args.size, args.seed, args.unknown_fraction),
    ):
        size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
        print(f"wrote {folder} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
