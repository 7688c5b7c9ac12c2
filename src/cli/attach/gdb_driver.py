# The gdb side of `refgraph attach`, run by gdb's embedded Python
# (gdb -batch -nx -x THIS). It attaches to a CPython process and has its
# main thread run a small loader (PyRun_SimpleString) at a safe point, with
# the GIL held, then detaches. It speaks to the CLI in lines on stdout:
#   REFGRAPH done RC            the loader ran and returned RC
#   REFGRAPH error KIND TEXT    nothing ran (or it cannot be known); KIND is
#                               one of ptrace, gone, not-python, exited,
#                               timeout, failed
#
# Where the main thread can be met (no function is called in the target at an
# arbitrary point but async-signal-safe ones: PyGILState_Check, mmap,
# Py_AddPendingCall, which CPython made for signal handlers):
# - blocked in a system call without the GIL (input(), time.sleep, waiting
#   for a lock or for the GIL): its Python state is whole, as it is whenever
#   a thread lets go of the GIL. gdb calls PyGILState_Ensure, the loader and
#   PyGILState_Release in that thread; the interrupted call resumes after.
# - anywhere else (running bytecode, in C code holding the GIL): the loader is
#   queued with Py_AddPendingCall, and the interpreter runs it between two
#   bytecodes of the main thread, the eval loop's own safe point. gdb waits
#   at a breakpoint on PyRun_SimpleString for it to start and end.
# A thread stopped inside malloc or the dynamic loader holds their locks: it
# is never made to run Python; gdb lets it go on and looks again.

import os
import re
import signal
import threading
import time

import gdb

PID = int(os.environ["REFGRAPH_PID"])
LOADER = os.environ["REFGRAPH_LOADER"]
STATUS = os.environ["REFGRAPH_STATUS"]
TIMEOUT = float(os.environ.get("REFGRAPH_TIMEOUT", "30"))

# Functions whose locks a thread may hold when stopped in them.
UNSAFE = re.compile(
    r"^(__GI_)?_*(libc_)?(malloc|calloc|realloc|free|memalign|valloc|pvalloc|posix_memalign|aligned_alloc)$"
    r"|^_int_|^sysmalloc|^arena_|^tcache|^malloc_|^_dl_|^dl(open|close|sym|error)|^__libc_dl|fork"
)


class Fail(Exception):
    def __init__(self, kind, text):
        Exception.__init__(self, text)
        self.kind = kind


def say(*words):
    gdb.write("REFGRAPH " + " ".join(str(w).replace("\n", " ") for w in words) + "\n")
    gdb.flush()


def ex(command):
    return gdb.execute(command, to_string=True)


def value(expr):
    return int(gdb.parse_and_eval(expr))


def call_void(expr):
    gdb.parse_and_eval(expr)


def address(name):
    try:
        return value("(long)&%s" % name)
    except gdb.error:
        return None


class Stops(object):
    """What ended the last `continue`."""

    def __init__(self):
        self.event = None
        self.exit_code = None
        gdb.events.stop.connect(self.on_stop)
        gdb.events.exited.connect(self.on_exit)

    def on_stop(self, event):
        self.event = event

    def on_exit(self, event):
        self.exit_code = getattr(event, "exit_code", None)
        self.exited = True

    exited = False


class Target(object):
    def __init__(self):
        self.stops = Stops()
        self.buffer = None
        self.size = 0
        self.queued = False
        self.breakpoint = None
        self.attached = False

    # --- attaching -----------------------------------------------------------

    def attach(self):
        try:
            ex("attach %d" % PID)
        except gdb.error as e:
            text = str(e)
            if "No such process" in text:
                raise Fail("gone", text)
            if "not permitted" in text or "ptrace" in text:
                raise Fail("ptrace", text)
            raise Fail("failed", "gdb could not attach: " + text)
        self.attached = True
        self.inferior = gdb.selected_inferior()
        self.main = None
        for t in self.inferior.threads():
            if t.ptid[1] == PID:
                self.main = t
        if self.main is None:
            raise Fail("failed", "no main thread (LWP %d) in process %d" % (PID, PID))
        self.main.switch()
        self.arch = gdb.selected_frame().architecture().name()
        need = ("Py_IsInitialized", "Py_AddPendingCall", "Py_MakePendingCalls", "PyRun_SimpleString",
                "PyGILState_Ensure", "PyGILState_Release")
        missing = [n for n in need if address(n) is None]
        if missing:
            raise Fail("not-python", "process %d has no CPython API (no %s)" % (PID, ", ".join(missing)))
        self.run_at = address("PyRun_SimpleString")
        self.check_gil = address("PyGILState_Check") is not None
        if not self.check_gil and address("_PyThreadState_Current") is None:
            raise Fail("not-python", "process %d: cannot tell which thread holds the GIL" % PID)
        if value("((int(*)(void))Py_IsInitialized)()") == 0:
            raise Fail("not-python", "the Python interpreter in process %d is not initialized" % PID)

    def place_loader(self):
        with open(LOADER, "rb") as f:
            code = f.read() + b"\0"
        self.size = (len(code) + 4095) & ~4095
        # PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS: a bare system call,
        # safe wherever the thread stands (malloc is not).
        at = value("(long)((void*(*)(void*, unsigned long, int, int, int, long))mmap)(0, %d, 3, 0x22, -1, 0)" % self.size)
        if at == -1 or at == 0:
            raise Fail("failed", "mmap in the target failed")
        self.buffer = at
        self.inferior.write_memory(at, code)

    # --- where the main thread stands ---------------------------------------

    def pc(self):
        return value("$pc")

    def in_syscall(self):
        pc = self.pc()
        try:
            if self.arch.startswith("i386:x86-64"):
                return bytes(self.inferior.read_memory(pc - 2, 2)) == b"\x0f\x05"
            if self.arch.startswith("aarch64"):
                return bytes(self.inferior.read_memory(pc - 4, 4)) == b"\x01\x00\x00\xd4"
        except gdb.MemoryError:
            return False
        return False

    def holds_gil(self):
        if self.check_gil:
            return value("((int(*)(void))PyGILState_Check)()") != 0
        current = value("*(long*)&_PyThreadState_Current")
        mine = value("(long)((void*(*)(void))PyGILState_GetThisThreadState)()")
        return current != 0 and current == mine

    def unsafe_frame(self):
        try:
            f = gdb.newest_frame()
            for _ in range(24):
                if f is None:
                    return None
                name = f.name() or ""
                if UNSAFE.search(name):
                    return name
                f = f.older()
        except gdb.error:
            return None
        return None

    def first_argument(self):
        return value("$rdi" if self.arch.startswith("i386:x86-64") else "$x0")

    def return_address(self):
        if self.arch.startswith("i386:x86-64"):
            return value("*(unsigned long*)$sp")
        return value("$x30")

    def return_value(self):
        v = value("$rax" if self.arch.startswith("i386:x86-64") else "$x0") & 0xFFFFFFFF
        return v - (1 << 32) if v & 0x80000000 else v

    # --- running --------------------------------------------------------------

    def waiting_signals(self):
        ex("handle SIGURG stop print nopass")  # noprint would imply nostop

    def calling_signals(self):
        # Nothing may interrupt a call that runs Python code: gdb would unwind
        # it half done.
        ex("handle SIGURG nostop noprint nopass")

    def resume(self, seconds):
        """Lets the target run until a stop; a SIGURG after `seconds` makes one."""
        self.stops.event = None
        timer = threading.Timer(seconds, lambda: os.kill(PID, signal.SIGURG)) if seconds else None
        if timer is not None:
            timer.start()
        try:
            ex("continue")
        finally:
            if timer is not None:
                timer.cancel()
        if self.stops.exited:
            raise Fail("exited", "process %d exited (status %s)" % (PID, self.stops.exit_code))
        return self.stops.event

    def run_direct(self, deadline):
        """The main thread is blocked without the GIL: run the loader there."""
        if self.breakpoint is not None:
            self.breakpoint.enabled = False
        self.waiting_signals()
        timer = threading.Timer(max(0.1, deadline - time.time()), lambda: os.kill(PID, signal.SIGURG))
        timer.start()
        try:
            state = value("((int(*)(void))PyGILState_Ensure)()")
        except gdb.error as e:
            raise Fail("timeout", "the GIL stayed taken by another thread (%s)" % e)
        finally:
            timer.cancel()
        self.calling_signals()
        try:
            if self.queued:
                return value("((int(*)(void))Py_MakePendingCalls)()")
            return value("((int(*)(char*))PyRun_SimpleString)((char*)%d)" % self.buffer)
        finally:
            self.clear_free_lists()
            call_void("((void(*)(int))PyGILState_Release)(%d)" % state)

    def run_pending(self):
        """The main thread stands at the start of the queued loader: let it end."""
        self.calling_signals()
        back = gdb.Breakpoint("*%d" % self.return_address(), internal=True)
        self.breakpoint.enabled = False
        try:
            while True:
                event = self.resume(0)
                if isinstance(event, gdb.BreakpointEvent) and back in event.breakpoints \
                        and gdb.selected_thread().ptid[1] == PID:
                    rc = self.return_value()
                    self.clear_free_lists()
                    return rc
        finally:
            back.delete()

    def queue(self):
        rc = value("((int(*)(void*, void*))Py_AddPendingCall)((void*)%d, (void*)%d)" % (self.run_at, self.buffer))
        if rc != 0:
            raise Fail("failed", "Py_AddPendingCall refused the loader (%d)" % rc)
        self.queued = True
        self.breakpoint = gdb.Breakpoint("*%d" % self.run_at, internal=True)

    def capture(self):
        deadline = time.time() + TIMEOUT
        pause = 0.02
        while True:
            self.main.switch()
            if self.in_syscall() and not self.holds_gil() and self.unsafe_frame() is None:
                return self.run_direct(deadline)
            if not self.queued:
                self.queue()
            left = deadline - time.time()
            if left <= 0:
                raise Fail("timeout", "the main thread reached no safe point in %g s (the loader stays queued for it, "
                                      "emptied: when it runs it does nothing; its one page stays mapped)" % TIMEOUT)
            self.waiting_signals()
            self.breakpoint.enabled = True
            event = self.resume(min(pause, left))
            pause = min(pause * 2, 0.25)
            if isinstance(event, gdb.BreakpointEvent) and self.breakpoint in event.breakpoints:
                if gdb.selected_thread().ptid[1] == PID and self.first_argument() == self.buffer:
                    return self.run_pending()

    def clear_free_lists(self):
        """Python 2 keeps every int object it ever freed on a free list, for
        good: the pure collector's million ids would stay in the target's
        RSS. gc.collect() clears it; this clears only it, with the GIL held
        (the caller's), and runs no Python code."""
        if address("PyInt_ClearFreeList") is not None:
            value("((int(*)(void))PyInt_ClearFreeList)()")

    def give_back_memory(self):
        """The capture's memory is free again, but glibc keeps freed heap
        pages; it returns them to the system when asked (the main thread
        stands where no lock of malloc's is held)."""
        if os.environ.get("REFGRAPH_NO_TRIM") or address("malloc_trim") is None:
            return
        value("((int(*)(unsigned long))malloc_trim)(0)")

    # --- leaving --------------------------------------------------------------

    def leave(self):
        if not self.attached or self.stops.exited:
            return
        try:
            self.calling_signals()
            if self.breakpoint is not None:
                self.breakpoint.delete()
            if self.buffer is not None:
                self.main.switch()
                if self.queued and not os.path.exists(STATUS):
                    # Still queued: it may run later; it must find no code.
                    self.inferior.write_memory(self.buffer, b"\0")
                else:
                    value("((int(*)(void*, unsigned long))munmap)((void*)%d, %d)" % (self.buffer, self.size))
                    self.give_back_memory()
        finally:
            ex("detach")


def main():
    for command in ("set pagination off", "set confirm off", "set width 0", "set print thread-events off",
                    "set print inferior-events off", "set unwindonsignal on",
                    "handle all nostop noprint pass", "handle SIGINT nostop noprint pass"):
        try:
            ex(command)
        except gdb.error:
            pass
    target = Target()
    try:
        target.attach()
        target.place_loader()
        rc = target.capture()
        say("done", rc)
    except Fail as e:
        say("error", e.kind, str(e))
    except gdb.error as e:
        say("error", "failed", "gdb: %s" % e)
    finally:
        try:
            target.leave()
        except (gdb.error, Fail) as e:
            if not target.stops.exited:
                say("error", "failed", "gdb could not detach cleanly: %s" % e)


main()
