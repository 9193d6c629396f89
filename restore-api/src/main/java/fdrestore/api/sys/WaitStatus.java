package fdrestore.api.sys;

/** The result of waitpid(2): the child's pid and its raw wait status. */
public record WaitStatus(int pid, int status) {
    /** WIFEXITED. */
    public boolean exited() {
        return (status & 0x7f) == 0;
    }

    /** WEXITSTATUS. */
    public int exitCode() {
        return (status >> 8) & 0xff;
    }

    /** WIFSIGNALED. */
    public boolean signaled() {
        int t = status & 0x7f;
        return t != 0 && t != 0x7f;
    }

    /** WTERMSIG. */
    public int termSig() {
        return status & 0x7f;
    }

    @Override
    public String toString() {
        if (exited()) {
            return "pid " + pid + " exited " + exitCode();
        }
        if (signaled()) {
            return "pid " + pid + " killed by signal " + termSig();
        }
        return "pid " + pid + " status 0x" + Integer.toHexString(status);
    }
}
