"""A new index that looks wrong (sources that gave many documents now give none) is not swapped in."""

from __future__ import annotations

import shutil

import pytest

from indexer.store.generations import current_generation
from tests.conftest import run_indexer, write_news_records


@pytest.fixture()
def two_folders(tmp_path):
    write_news_records(tmp_path / "wire", 30)
    write_news_records(tmp_path / "desk", 12, start=100)
    index = tmp_path / "ix"
    result = run_indexer("build", str(tmp_path / "wire"), str(tmp_path / "desk"), "--index", str(index))
    assert result.returncode == 0, result.stderr
    return tmp_path, index


@pytest.mark.parametrize("command", ["build", "update"])
def test_emptied_folder_that_gave_many_documents_is_not_swapped_in(two_folders, command):
    tmp_path, index = two_folders
    live = current_generation(index)
    shutil.rmtree(tmp_path / "desk")
    (tmp_path / "desk").mkdir()  # an unmounted share looks like this
    result = run_indexer(command, str(tmp_path / "wire"), str(tmp_path / "desk"), "--index", str(index))
    assert result.returncode == 4
    assert "not swapped in" in result.stderr and "'desk' gave 12 documents last time and none now" in result.stderr
    assert "--allow-shrink" in result.stderr
    assert current_generation(index) == live
    assert [p.name for p in index.glob("gen-*")] == [live.name]  # nothing half-built left behind


@pytest.mark.parametrize("command", ["build", "update"])
def test_index_shrinking_below_half_is_not_swapped_in(two_folders, command):
    tmp_path, index = two_folders
    live = current_generation(index)
    for number in range(25):
        (tmp_path / "wire" / f"r{number}.md").unlink()
    result = run_indexer(command, str(tmp_path / "wire"), str(tmp_path / "desk"), "--index", str(index))
    assert result.returncode == 4
    assert "would hold 17 documents, against 42" in result.stderr
    assert current_generation(index) == live


def test_allow_shrink_swaps_in_an_intended_deletion(two_folders):
    tmp_path, index = two_folders
    shutil.rmtree(tmp_path / "desk")
    (tmp_path / "desk").mkdir()
    result = run_indexer(
        "update", str(tmp_path / "wire"), str(tmp_path / "desk"), "--index", str(index), "--allow-shrink"
    )
    assert result.returncode == 0, result.stderr
    assert "12 deleted" in result.stdout


def test_small_changes_and_dropping_a_folder_from_the_command_pass(two_folders):
    tmp_path, index = two_folders
    for number in range(5):
        (tmp_path / "wire" / f"r{number}.md").unlink()
    result = run_indexer("update", str(tmp_path / "wire"), str(tmp_path / "desk"), "--index", str(index))
    assert result.returncode == 0, result.stderr
    # Leaving a folder out on purpose is not a missing folder; the total still must stay above half.
    result = run_indexer("build", str(tmp_path / "wire"), "--index", str(index))
    assert result.returncode == 0, result.stderr
