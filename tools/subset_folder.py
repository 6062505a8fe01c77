#!/usr/bin/env python3
"""A class-balanced subset of an image folder (train/ and test/, a folder per class) as symbolic links, for studies at
CPU scale: the first N training and M test images of each class, in file-name order (so the same folder every time).

    python tools/subset_folder.py SRC DEST --train 100 --test 20"""
import argparse, os
from pathlib import Path

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('src'); ap.add_argument('dest')
    ap.add_argument('--train', type=int, default=100); ap.add_argument('--test', type=int, default=20)
    a = ap.parse_args()
    src, dest = Path(a.src).resolve(), Path(a.dest)
    for split, n in (('train', a.train), ('test', a.test)):
        for cls in sorted(p for p in (src/split).iterdir() if p.is_dir()):
            (dest/split/cls.name).mkdir(parents=True, exist_ok=True)
            for f in sorted(cls.iterdir())[:n]:
                link = dest/split/cls.name/f.name
                if not link.exists(): os.symlink(f, link)
    print(f"{dest}: {sum(1 for _ in (dest/'train').rglob('*.*'))} training and {sum(1 for _ in (dest/'test').rglob('*.*'))} test images")

if __name__ == '__main__': main()
