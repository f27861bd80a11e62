"""The one job adapter: results, progress, cancellation and errors reach the GUI thread."""

import threading
import time

import pytest

from app.gui.jobs import JobRunner, describe_error
from recorder.jobs import check_stop

pytestmark = pytest.mark.gui


def test_result_and_progress_arrive_on_the_gui_thread(qtbot):
    runner = JobRunner("count")
    seen = []
    threads = set()

    def job(progress, should_stop):
        for i in range(5):
            progress(i + 1, 5, f"step {i + 1}")
        return threading.get_ident()

    runner.progress.connect(lambda d, t, m: (seen.append((d, t, m)), threads.add(threading.get_ident())))
    with qtbot.waitSignal(runner.finished, timeout=5000), qtbot.waitSignal(runner.done, timeout=5000) as done:
        runner.start(job)
    assert done.args[0] != threading.get_ident()  # the job ran elsewhere
    assert seen[-1] == (5, 5, "step 5")  # the final report always goes through
    assert threads == {threading.get_ident()}
    assert not runner.is_running()


def test_cancel_stops_the_job_and_reports_cancelled(qtbot):
    runner = JobRunner("slow")
    started = threading.Event()

    def job(progress, should_stop):
        started.set()
        for _ in range(1000):
            check_stop(should_stop)
            time.sleep(0.005)
        return "finished"

    done = []
    runner.done.connect(done.append)
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.start(job)
        assert started.wait(2)
        runner.cancel()
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=2000)
    assert done == []


def test_an_exception_reaches_on_exception_and_a_second_start_is_refused(qtbot):
    runner = JobRunner("bad")
    errors = []
    gate = threading.Event()

    def job(progress, should_stop):
        gate.wait(2)
        raise ValueError("no episodes in /nowhere")

    runner.start(job, on_exception=errors.append)
    with pytest.raises(RuntimeError, match="already running"):
        runner.start(job)
    gate.set()
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert describe_error(errors[0]) == "no episodes in /nowhere"
    assert describe_error(OSError("disk full")) == "OSError: disk full"
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=2000)


def test_shutdown_waits_for_the_thread(qtbot):
    runner = JobRunner("loop")

    def job(progress, should_stop):
        while True:
            check_stop(should_stop)
            time.sleep(0.01)

    runner.start(job)
    assert runner.shutdown(5000)
