"""The process ends when the console has quit, even if a terminal thread is left behind.

When the terminal vanishes a moment after ``q`` (a window closed, a tmux server killed), the
UI library's terminal threads can outlive the app, and the interpreter would wait for them at
exit forever (deaf to SIGTERM). ``leave_after_tui`` ends the process itself then.
"""
import subprocess
import sys
import textwrap
import threading

from collab_tui.launch import leave_after_tui


def test_a_thread_left_behind_does_not_keep_the_process_alive():
    script = textwrap.dedent("""
        import sys, threading
        from collab_tui.launch import leave_after_tui
        never = threading.Event()
        threading.Thread(target=never.wait, name="textual-input").start()   # not a daemon; never ends
        print("state saved", flush=True)
        sys.exit(leave_after_tui(7, wait_s=0.2))
    """)
    # without the guard this child never exits: the deadline turns that into a failure
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 7                     # the exit status the console decided
    assert done.stdout == "state saved\n"           # what was written before is not lost


def test_threads_that_end_on_their_own_are_waited_for_and_the_code_returned():
    finished = threading.Event()
    worker = threading.Thread(target=finished.set)
    worker.start()
    assert leave_after_tui(3, wait_s=5.0) == 3
    assert finished.is_set() and not worker.is_alive()
