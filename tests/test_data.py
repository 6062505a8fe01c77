"Error cases of `quanta_nb.data`, with real files in a temporary folder (no mocks)"
import re, tarfile
from pathlib import Path

import pytest
from PIL import Image

from quanta_nb.data import (DataError, SAMPLES, task_name, untar_once, sample_path, get_cifar, check_image_folder,
                            cifar_dls)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    "Every test extracts into its own cache folder"
    path = tmp_path/'cache'
    monkeypatch.setenv('QUANTA_NB_CACHE', str(path))
    return path


def make_images(root:Path, size=32, classes=('cat', 'dog'), n=2, splits=('train', 'test')):
    "A small image folder `root`/{train,test}/<class>/<i>.png of `size`x`size` images"
    for split in splits:
        for c in classes:
            (root/split/c).mkdir(parents=True, exist_ok=True)
            for i in range(n): Image.new('RGB', (size, size), (i*40, 0, 0)).save(root/split/c/f'{i}.png')
    return root


def make_targz(folder:Path, dest:Path, arcname:str) -> Path:
    with tarfile.open(dest, 'w:gz') as tar: tar.add(folder, arcname=arcname)
    return dest


def test_unknown_task_names_valid_ones():
    with pytest.raises(ValueError, match="Unknown task 'C'.*'A', 'B', 'cifar10', 'cifar100'"): task_name('C')
    assert task_name('B') == 'cifar100'


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match=re.escape(f"{tmp_path/'nowhere'} does not exist")): get_cifar('A', tmp_path/'nowhere')


def test_empty_folder(tmp_path):
    (tmp_path/'empty').mkdir()
    with pytest.raises(DataError, match=re.escape(f"{tmp_path/'empty'} has no train/ and test/ folders, nor a cifar10/")):
        get_cifar('A', tmp_path/'empty')


def test_split_without_images(tmp_path):
    root = make_images(tmp_path/'data', splits=('train',))
    (root/'test'/'cat').mkdir(parents=True)
    with pytest.raises(DataError, match=re.escape(f"{root/'test'} holds no image files")): get_cifar('A', root)


def test_wrong_image_size(tmp_path):
    root = make_images(tmp_path/'data', size=16)
    with pytest.raises(DataError, match=re.escape(f"{root/'train'/'cat'/'0.png'} is 16x16 pixels; expected 32x32")):
        get_cifar('A', root)
    assert check_image_folder(root, size=16) == root


def test_unreadable_image(tmp_path):
    root = make_images(tmp_path/'data')
    (root/'test'/'cat'/'0.png').write_bytes(b'not an image')
    with pytest.raises(DataError, match=re.escape(f"{root/'test'/'cat'/'0.png'} cannot be read as an image")): get_cifar('A', root)


def test_file_that_is_not_an_archive(tmp_path):
    (tmp_path/'notes.txt').write_text('hello')
    with pytest.raises(DataError, match=re.escape(f"{tmp_path/'notes.txt'} is a file but not a .tar.gz")):
        get_cifar('A', tmp_path/'notes.txt')


def test_corrupt_targz_leaves_no_cache(tmp_path, cache):
    bad = tmp_path/'bad.tar.gz'
    bad.write_bytes(b'this is not gzip data')
    with pytest.raises(DataError, match=re.escape(f"{bad} is not a valid .tar.gz archive")): get_cifar('A', bad)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_truncated_targz_is_never_half_used(tmp_path, cache):
    "A valid gzip stream cut in the middle fails after extracting part of it: nothing may remain in the cache"
    data = (SAMPLES/'cifar10-sample.tar.gz').read_bytes()
    cut = tmp_path/'cut.tar.gz'
    cut.write_bytes(data[:len(data)//2])
    with pytest.raises(DataError, match=re.escape(f"{cut} is not a valid .tar.gz archive")): get_cifar('A', cut)
    assert list(cache.iterdir()) == []  # neither the destination nor the temporary folder


def test_tar_with_wrong_task(tmp_path):
    arc = make_targz(make_images(tmp_path/'data'), tmp_path/'c100.tar.gz', 'cifar100')
    with pytest.raises(DataError, match=re.escape("nor a cifar10/ subfolder")): get_cifar('A', arc)
    assert get_cifar('B', arc).name == 'cifar100'


def test_archive_extracted_once(tmp_path, cache):
    arc = make_targz(make_images(tmp_path/'data'), tmp_path/'mine.tgz', 'cifar10')
    path = get_cifar('A', arc)
    assert path.parent.parent == cache and (path/'train'/'cat'/'0.png').exists()
    (path/'marker').touch()
    assert get_cifar('A', arc) == path and (path/'marker').exists()  # reused, not extracted again
    assert untar_once(arc) == path.parent


def test_samples_load():
    for task, first in (('A', 'airplane'), ('B', 'apple')):
        assert get_cifar(task) == sample_path(task)
        dls = cifar_dls(task, 'sample', bs=4, n_train=20)
        assert len(dls.vocab) == 10 and dls.vocab[0] == first
        xb, yb = dls.one_batch()
        assert xb.shape == (4, 3, 32, 32) and 0 <= xb.min() and xb.max() <= 1
