/** fdrestore plugin for the "timerfd" file kind: timerfd timers. */
module fdrestore.plugin.timerfd {
    requires fdrestore.core;
    requires org.pf4j;
}
