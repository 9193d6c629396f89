"""A tmux-like terminal for ShellJobIT: python's pty module plays the terminal emulator.

shell-job.py FDRESTORE IMAGES: runs a job (cat, in its own process group, in the foreground of a new
terminal A whose session leader is a "shell", reading a pipe whose write end the shell keeps), dumps
the job with `fdrestore dump`, ends it, then restores it several ways and prints one JSON document:
without --shell-job, with --shell-job but no terminal, and with --shell-job --inherit-fd on a new
terminal B whose session leader is fdrestore itself (data in through a new pipe, out on terminal B,
then Ctrl-C typed on B). Every process it starts is killed before it exits.
"""
import json, os, pty, select, signal, subprocess, sys, time

F, D = sys.argv[1], sys.argv[2]
env = dict(os.environ, FDRESTORE_SERVER="off")
res = {}
mine = []


def stat(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1].split()
    return {"ppid": int(f[1]), "pgrp": int(f[2]), "sid": int(f[3]), "tty_nr": int(f[4]), "tpgid": int(f[5])}


def fdinfo_flags(pid, fd):
    for l in open(f"/proc/{pid}/fdinfo/{fd}"):
        if l.startswith("flags:"):
            return int(l.split()[1], 8)


def read_until(fd, want, secs, out=b""):
    end = time.time() + secs
    while want not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


try:
    # 1. the original job on terminal A
    rd, wr = os.pipe()
    shell, ma = pty.fork()
    if shell == 0:
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.closerange(3, rd)
        os.closerange(wr + 1, 4096)
        job = os.fork()
        if job == 0:
            os.setpgid(0, 0)
            os.dup2(rd, 0)
            os.close(rd)
            os.close(wr)
            os.execvp("cat", ["cat"])
        os.setpgid(job, job)
        os.tcsetpgrp(0, job)
        os.close(rd)
        os.waitpid(job, 0)
        os._exit(0)
    mine.append(shell)
    os.close(rd)
    job = 0
    for _ in range(100):
        kids = subprocess.run(["pgrep", "-P", str(shell)], capture_output=True, text=True).stdout.split()
        if kids and open(f"/proc/{kids[0]}/comm").read().strip() == "cat":
            job = int(kids[0])
            break
        time.sleep(0.05)
    mine.append(job)
    res["original"] = {"job": job, "shell": shell, "stat": stat(job), "pipe": os.stat(f"/proc/{job}/fd/0").st_ino,
                       "tty": os.readlink(f"/proc/{job}/fd/1")}
    d = subprocess.run([F, "dump", "-t", str(job), "-D", D], env=env, capture_output=True, text=True, timeout=60)
    res["dump"] = {"rc": d.returncode, "out": d.stdout, "err": d.stderr}
    os.kill(job, 9)
    os.kill(shell, 9)
    os.waitpid(shell, 0)
    os.close(wr)
    # terminal A's master stays open: terminal B gets another index

    # 2. no --shell-job: the external terminal is refused
    r = subprocess.run([F, "restore", "--hold", "--then=kill", D], env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    res["plain"] = {"rc": r.returncode, "out": r.stdout, "err": r.stderr}

    # 3. --shell-job without a terminal on stdin
    r = subprocess.run([F, "restore", "--shell-job", "--then=kill", D], env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    res["noterm"] = {"rc": r.returncode, "out": r.stdout, "err": r.stderr}

    # 4. --shell-job --inherit-fd on terminal B, fdrestore its session leader
    r2, w2 = os.pipe()
    os.set_inheritable(r2, True)
    key = f"fd[{r2}]:pipe:[{res['original']['pipe']}]"
    fdr, mb = pty.fork()
    if fdr == 0:
        # no --verify: the job runs its command (cat), whose loader opens and closes libraries meanwhile
        os.execve(F, [F, "restore", "--shell-job", "--exec", "--inherit-fd", key, "--then=wait", D], env)
    mine.append(fdr)
    os.close(r2)
    out = read_until(mb, b"Waiting for the restored tasks", 60)
    b = {"pid": fdr, "key": key, "pipe": os.fstat(w2).st_ino}
    kids = subprocess.run(["pgrep", "-P", str(fdr)], capture_output=True, text=True).stdout.split()
    cats = [int(k) for k in kids if open(f"/proc/{k}/comm").read().strip() == "cat"]
    if cats:
        c = cats[0]
        mine.append(c)
        b["job"] = c
        os.write(w2, b"in through the inherited pipe\n")
        out = read_until(mb, b"in through the inherited pipe", 20, out)
        # cat has copied a line: it runs its main loop, the loader's own fds are closed
        b["stat"] = stat(c)
        b["fdrestore"] = stat(fdr)
        b["fds"] = {fd: os.readlink(f"/proc/{c}/fd/{fd}") for fd in os.listdir(f"/proc/{c}/fd")}
        b["flags"] = {fd: fdinfo_flags(c, fd) for fd in os.listdir(f"/proc/{c}/fd")}
        b["terminal"] = os.readlink(f"/proc/{fdr}/fd/0")
        os.write(mb, b"\x03")  # Ctrl-C on terminal B: the foreground group gets SIGINT
        end = time.time() + 20
        while time.time() < end:
            p, st = os.waitpid(fdr, os.WNOHANG)
            if p:
                b["rc"] = os.waitstatus_to_exitcode(st)
                break
            out = read_until(mb, b"\x00never", 0.1, out)
        b["job_after_ctrl_c"] = os.path.exists(f"/proc/{c}") and stat(c) is not None and \
            open(f"/proc/{c}/stat").read().rsplit(") ", 1)[1][0] != "Z"
    b["screen"] = out.decode(errors="replace")
    res["shelljob"] = b
finally:
    for p in mine:
        try:
            os.kill(p, 9)
        except (ProcessLookupError, TypeError):
            pass
print(json.dumps(res))
