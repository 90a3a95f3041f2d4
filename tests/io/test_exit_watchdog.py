"""The process ends once the console has quit, even when the shutdown itself hangs.

When the terminal vanishes a moment after ``q`` (a window closed, a tmux server killed), the
UI library's terminal threads can deadlock the console's shutdown, or outlive it and hold the
interpreter's exit: the process would linger forever, deaf to SIGTERM. ``arm_exit_watchdog``,
armed once the state is saved, ends it.
"""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys, threading
    from collab_tui.io.exit_watchdog import arm_exit_watchdog
    arm_exit_watchdog(float(sys.argv[1]), lambda: 7)
    print("state saved", flush=True)
    if sys.argv[2] == "hang":
        threading.Event().wait()        # the main thread blocked in a lock, as in the deadlock
    elif sys.argv[2] == "linger":
        threading.Thread(target=threading.Event().wait).start()   # a non-daemon thread that never ends
""")


def run(after_s, how):
    # without the watchdog the child never exits: the deadline turns that into a failure
    return subprocess.run([sys.executable, "-c", SCRIPT, str(after_s), how],
                          capture_output=True, text=True, timeout=60)


def test_a_shutdown_blocked_in_a_lock_still_ends_with_the_console_s_status():
    done = run(0.2, "hang")
    assert done.returncode == 7 and done.stdout == "state saved\n"   # nothing written before is lost


def test_a_thread_left_behind_does_not_keep_the_process_alive():
    done = run(0.2, "linger")
    assert done.returncode == 7 and done.stdout == "state saved\n"


def test_a_normal_exit_is_not_delayed_by_the_watchdog():
    done = run(600, "exit")            # the watchdog would fire in ten minutes: the process is gone long before
    assert done.returncode == 0 and done.stdout == "state saved\n"
