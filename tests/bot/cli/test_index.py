"""`newsbot index`: the counts, --strict, and --watch, through the real entry point."""

import queue
import signal
import threading

from bot.cli import main
from tests.builders import REPO, start_newsbot, write_article


def test_index_prints_counts_and_then_finds_nothing_new(env, capsys):
    assert main(["index"]) == 0
    assert "5 added, 0 updated, 0 unchanged, 0 missing, 0 failed" in capsys.readouterr().out
    assert main(["index"]) == 0
    assert "0 added, 0 updated, 5 unchanged" in capsys.readouterr().out


def test_strict_fails_on_a_bad_file_and_names_it(env, capsys):
    write_article(env, "broken", title="x", webUrl="https://x.example/1", heat="hot")
    assert main(["index"]) == 0
    assert "failed: broken.md: field heat: expected integer, got 'hot'" in capsys.readouterr().out
    assert main(["index", "--strict"]) == 1


def test_watch_reindexes_when_a_file_changes(tmp_path, articles_dir):
    env = {"PATH": "/usr/bin:/bin", "NEWSBOT_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    proc = start_newsbot("index", str(articles_dir), "--watch", env=env, cwd=REPO, ctrl_c=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()

    def next_line() -> str:
        return lines.get(timeout=30)

    try:
        assert "5 added" in next_line()
        assert next_line().startswith("watching")
        path = next(articles_dir.rglob("zurich-heat-pump-subsidy.md"))
        path.write_text(path.read_text().replace("heat: 71", "heat: 72"))
        assert "0 added, 1 updated, 4 unchanged" in next_line()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_clone_gone_with_an_id_nothing_waits_for_is_one_sentence(env, capsys):
    assert main(["index", "--clone-gone", "host:1@no-such-clone"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "newsbot: --clone-gone host:1@no-such-clone: no decision is pending in that clone "
        "(its ID is in the log line that names the decisions waiting for it)\n"
    )
    assert captured.out == ""
